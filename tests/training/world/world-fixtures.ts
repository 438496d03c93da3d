/**
 * Shared helpers of the world driver tests: a small, quick world (few SKUs
 * and nodes, short handling times so the drain is short), a virtual clock
 * whose time moves only when the driver sleeps (deterministic runs), and a
 * driver wired to the in-process naive router and memory sinks.
 */
import type { Clock } from '../../../platform/src/clock.js';
import { buildWorld } from '../../../training/src/simulator/build-world.js';
import { resolveSimConfig, type SimConfigInput } from '../../../training/src/simulator/sim-config.js';
import { MemoryEventSink, MemoryOutcomeSink } from '../../../training/src/world/memory-sinks.js';
import { NaiveRouter } from '../../../training/src/world/naive-router.js';
import { WorldDriver } from '../../../training/src/world/world-driver.js';
import {
  resolveWorldOptions,
  type WorldOptionsInput,
  worldTimeline,
} from '../../../training/src/world/world-options.js';
import type { Router, WorldPorts } from '../../../training/src/world/world-ports.js';

/** The clock's fastest speed: a simulated hour in 3.6 wall seconds. */
export const FAST_SPEED = 1_000;

const QUICK_HANDLING_H: readonly [number, number] = [0.25, 0.5];

export const SMALL_WORLD: SimConfigInput = {
  skuCount: 150,
  nodes: {
    warehouse: { count: 2, handlingHours: QUICK_HANDLING_H },
    store: { count: 5, handlingHours: QUICK_HANDLING_H },
    seller: { count: 3, handlingHours: QUICK_HANDLING_H },
  },
};

export const SMALL_RUN: WorldOptionsInput = {
  seed: 3,
  sim: SMALL_WORLD,
  warmupHours: 0.5,
  liveMinutes: 10,
  maxInFlight: 8,
};

export interface VirtualTime {
  clock: Clock;
  sleep: (wallMs: number) => Promise<void>;
}

/**
 * A world clock that stands still until the driver sleeps. Before moving it
 * lets pending callbacks run (an in-process router's answers), so every
 * answer lands at the same simulated time on every run.
 */
export function virtualTime(simEpochMs: number, speed = FAST_SPEED): VirtualTime {
  let wallMs = 0;
  return {
    clock: { now: () => simEpochMs + wallMs * speed, wallMs: (ms) => ms / speed, speed },
    sleep: async (ms) => {
      await new Promise((resolve) => setImmediate(resolve));
      wallMs += ms;
    },
  };
}

/** The naive router reads what a feature store fed the world's events would hold. */
export function naiveRouterFor(input: WorldOptionsInput, events: MemoryEventSink): NaiveRouter {
  const o = resolveWorldOptions(input);
  const world = buildWorld(resolveSimConfig({ ...o.sim, seed: o.seed }));
  return new NaiveRouter(events.state, world.nodes);
}

export interface Harness {
  driver: WorldDriver;
  events: MemoryEventSink;
  outcomes: MemoryOutcomeSink;
  progress: string[];
}

/** A driver on virtual time (deterministic), with the naive router unless another is given. */
export function virtualHarness(
  input: WorldOptionsInput,
  router?: Router,
  ports: Partial<WorldPorts> = {},
): Harness {
  const events = new MemoryEventSink();
  const outcomes = new MemoryOutcomeSink();
  const progress: string[] = [];
  const time = virtualTime(worldTimeline(resolveWorldOptions(input)).liveFromMs);
  const driver = new WorldDriver(
    {
      router: router ?? naiveRouterFor(input, events),
      events,
      outcomes,
      clock: time.clock,
      sleep: time.sleep,
      progress: { write: (line) => progress.push(line) },
      ...ports,
    },
    input,
  );
  return { driver, events, outcomes, progress };
}
