/**
 * The closed-loop world's scenarios (issue 12): what each one does, when,
 * and who does it. A scenario acts over one window of simulated time
 * relative to the live phase; what it asks of the simulated world (a flash
 * sale, silent feeds) is scheduled in the simulator before the run
 * (applyScenario: deterministic, part of the seeded stream), what it asks
 * of the real processes (pause the ingester, restart Redis empty, restart a
 * sidecar on a corrupt bundle, kill the control plane) is the supervisor's:
 * the driver calls its ScenarioCallbacks when the window opens and closes.
 *
 * | scenario           | world (simulator)                          | supervisor at start / at end                         | expected degradation |
 * |--------------------|--------------------------------------------|------------------------------------------------------|----------------------|
 * | steady             | -                                          | -                                                    | -                    |
 * | flash-sale         | a hot SKU's demand x40 for 20 min          | -                                                    | - (hot-SKU rules)    |
 * | feed-outage        | the busiest 15% of nodes silent for 10 min | -                                                    | stale-node           |
 * | stream-lag         | -                                          | SIGSTOP the ingester / SIGCONT it (5 min)            | stream-lag           |
 * | redis-restart      | -                                          | kill Redis, restart it empty / nothing (10 min)      | redis                |
 * | model-crash        | -                                          | restart a sidecar on a corrupt bundle / on the good one (10 min) | model    |
 * | control-plane-down | -                                          | kill the control plane / restart it (10 min)         | control-plane        |
 *
 * Every window starts 2 simulated minutes into the live phase; in a live
 * phase too short for it, it starts a quarter of the way in and is cut at
 * the live phase's end (scenarioWindow).
 */

import { AtpError } from '@mercato/platform/errors';
import type { Degradation } from '@mercato/proto/v1/decision';
import { ERR } from '../errors.js';
import type { World } from '../simulator/build-world.js';
import type { ForcedFlashSale, ForcedOutage } from '../simulator/scenario-hooks.js';
import type { SimConfig } from '../simulator/sim-config.js';
import type { Simulator } from '../simulator/simulator.js';

const MS_PER_MIN = 60_000;

export const SCENARIO_NAMES = [
  'steady',
  'flash-sale',
  'feed-outage',
  'stream-lag',
  'redis-restart',
  'model-crash',
  'control-plane-down',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** A window opens this long into the live phase (the pipeline has settled on the live clock by then)... */
export const SCENARIO_START_AFTER_MS = 2 * MS_PER_MIN;
/** ...or this share of the way in, when the live phase is too short for that. */
export const MAX_START_SHARE = 0.25;
/** A flash sale multiplies its SKU's demand by this (DESIGN: "a hot SKU's demand x40"). */
export const FLASH_SALE_MULTIPLIER = 40;
/** Share of the world's nodes (the busiest) whose feeds a feed outage silences. */
export const FEED_OUTAGE_NODE_SHARE = 0.15;

/**
 * What a scenario asks of the simulated world.
 * - flash-sale: `sku` names a SKU, or 'flash-pick' (flashSaleSku: the most
 *   popular hot SKU whose extra demand stays within the world's flash cap);
 * - feed-outage: the nodes by id, or the busiest share of them (busiestNodes).
 */
export type SimHookSpec =
  | { kind: 'flash-sale'; sku: string; multiplier: number }
  | { kind: 'feed-outage'; nodes: { busiestShare: number } | readonly string[] };

/**
 * The faults the supervisor injects, one per scenario that needs a real
 * process to misbehave. The driver only names them; the supervisor's
 * ScenarioCallbacks do them.
 */
export const SUPERVISOR_FAULTS = [
  'pause-ingester',
  'restart-redis-empty',
  'corrupt-model-restart',
  'kill-control-plane',
] as const;
export type SupervisorFault = (typeof SUPERVISOR_FAULTS)[number];

export interface SupervisorAction {
  fault: SupervisorFault;
  /** What the supervisor does when the window opens. */
  atStart: string;
  /** What it does when the window closes; null: nothing, the system recovers by itself. */
  atEnd: string | null;
}

export interface WorldScenario {
  name: ScenarioName;
  description: string;
  /** Simulated ms into the live phase the window opens (see scenarioWindow for short live phases). */
  startAfterMs: number;
  /** Simulated ms the window lasts; 0 = no window (steady). */
  durationMs: number;
  /** Asked of the simulator (scheduled before the run). */
  sim: readonly SimHookSpec[];
  /** Asked of the supervisor (its callbacks), or null. */
  supervisor: SupervisorAction | null;
  /** DESIGN §6 degradations the scenario must make visible in answers and metrics. */
  expectedDegradations: readonly Degradation[];
}

export const WORLD_SCENARIOS: Readonly<Record<ScenarioName, WorldScenario>> = {
  steady: {
    name: 'steady',
    description: 'the default world, nothing forced',
    startAfterMs: 0,
    durationMs: 0,
    sim: [],
    supervisor: null,
    expectedDegradations: [],
  },
  'flash-sale': {
    name: 'flash-sale',
    description: `a hot SKU's demand x${FLASH_SALE_MULTIPLIER} for 20 simulated minutes`,
    startAfterMs: SCENARIO_START_AFTER_MS,
    durationMs: 20 * MS_PER_MIN,
    sim: [{ kind: 'flash-sale', sku: 'flash-pick', multiplier: FLASH_SALE_MULTIPLIER }],
    supervisor: null,
    expectedDegradations: [],
  },
  'feed-outage': {
    name: 'feed-outage',
    description: `the feeds of the busiest ${FEED_OUTAGE_NODE_SHARE * 100}% of nodes silent for 10 simulated minutes, then their backlog`,
    startAfterMs: SCENARIO_START_AFTER_MS,
    durationMs: 10 * MS_PER_MIN,
    sim: [{ kind: 'feed-outage', nodes: { busiestShare: FEED_OUTAGE_NODE_SHARE } }],
    supervisor: null,
    expectedDegradations: ['stale-node'],
  },
  'stream-lag': {
    name: 'stream-lag',
    description: 'the ingester frozen (SIGSTOP) for 5 simulated minutes: the stream lags',
    startAfterMs: SCENARIO_START_AFTER_MS,
    durationMs: 5 * MS_PER_MIN,
    sim: [],
    supervisor: {
      fault: 'pause-ingester',
      atStart: 'SIGSTOP the ingester',
      atEnd: 'SIGCONT the ingester (it catches up)',
    },
    expectedDegradations: ['stream-lag'],
  },
  'redis-restart': {
    name: 'redis-restart',
    description: 'Redis killed and restarted empty; 10 simulated minutes to recover',
    startAfterMs: SCENARIO_START_AFTER_MS,
    durationMs: 10 * MS_PER_MIN,
    sim: [],
    supervisor: {
      fault: 'restart-redis-empty',
      atStart: 'SIGKILL Redis and start it again empty on the same port',
      atEnd: null,
    },
    expectedDegradations: ['redis'],
  },
  'model-crash': {
    name: 'model-crash',
    description: 'a sidecar restarted on a corrupt bundle for 10 simulated minutes: rules answer',
    startAfterMs: SCENARIO_START_AFTER_MS,
    durationMs: 10 * MS_PER_MIN,
    sim: [],
    supervisor: {
      fault: 'corrupt-model-restart',
      atStart: 'restart one sidecar on a corrupt model bundle',
      atEnd: 'restart it on the verified bundle',
    },
    expectedDegradations: ['model'],
  },
  'control-plane-down': {
    name: 'control-plane-down',
    description: 'the control plane killed for 10 simulated minutes: sidecars serve the persisted snapshot',
    startAfterMs: SCENARIO_START_AFTER_MS,
    durationMs: 10 * MS_PER_MIN,
    sim: [],
    supervisor: {
      fault: 'kill-control-plane',
      atStart: 'SIGKILL the control plane',
      atEnd: 'start it again on its database',
    },
    expectedDegradations: ['control-plane'],
  },
};

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}

/** The scenario called `name`, or ATP_ERR_WORLD_CONFIG naming the field. */
export function worldScenario(name: string): WorldScenario {
  if (!isScenarioName(name)) {
    throw new AtpError(
      ERR.WORLD_CONFIG,
      `scenario: expected one of ${SCENARIO_NAMES.join(', ')}, got ${JSON.stringify(name)}`,
      'scenario',
    );
  }
  return WORLD_SCENARIOS[name];
}

/** Simulated epoch ms of a scenario's window in one run: [fromMs, untilMs). */
export interface ScenarioWindow {
  fromMs: number;
  untilMs: number;
}

/** Overrides of a scenario's table timing (simulated ms). */
export interface WindowOverride {
  startAfterMs?: number | null;
  durationMs?: number | null;
}

/**
 * Where the scenario acts in this run: startAfterMs into the live phase (at
 * most a quarter of the way in, unless overridden) for durationMs, cut at
 * the live phase's end. null when it has no window (steady), or when the
 * live phase is empty.
 */
export function scenarioWindow(
  s: WorldScenario,
  t: { liveFromMs: number; liveUntilMs: number },
  override: WindowOverride = {},
): ScenarioWindow | null {
  // A scenario that asks nothing of anyone (steady) has no window, whatever the override.
  if (s.sim.length === 0 && s.supervisor === null) return null;
  const durationMs = override.durationMs ?? s.durationMs;
  if (durationMs <= 0) return null;
  const liveMs = t.liveUntilMs - t.liveFromMs;
  const startAfterMs =
    override.startAfterMs ?? Math.min(s.startAfterMs, Math.floor(liveMs * MAX_START_SHARE));
  const fromMs = t.liveFromMs + startAfterMs;
  const untilMs = Math.min(fromMs + durationMs, t.liveUntilMs);
  return untilMs > fromMs ? { fromMs, untilMs } : null;
}

/** One step of a scenario sequence: a scenario and its window's length (simulated minutes; null: its own). */
export interface ScenarioStep {
  name: ScenarioName;
  minutes: number | null;
}

/** Simulated ms between two windows of a sequence: the previous fault's undoing (a restart) settles first. */
export const SEQUENCE_GAP_MS = 2 * MS_PER_MIN;
/** Steps in one sequence at most. */
export const MAX_SEQUENCE_STEPS = SCENARIO_NAMES.length;

/**
 * Parses `name[:minutes][,name[:minutes]...]` (the `--scenario` flag): one
 * scenario, or several played one after another in their own windows.
 * Errors are ATP_ERR_WORLD_CONFIG naming `field`. A name may appear once;
 * steady only alone.
 */
export function parseScenarioSteps(text: string, field = 'scenario'): ScenarioStep[] {
  const fail = (problem: string) => new AtpError(ERR.WORLD_CONFIG, `${field}: ${problem}`, field);
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length > MAX_SEQUENCE_STEPS)
    throw fail(`at most ${MAX_SEQUENCE_STEPS} scenarios, got ${parts.length}`);
  const steps: ScenarioStep[] = [];
  for (const part of parts) {
    const [name = '', minutesText, extra] = part.split(':');
    if (!isScenarioName(name) || extra !== undefined) {
      throw fail(
        `expected one of ${SCENARIO_NAMES.join(', ')} (name[:minutes], comma-separated), got ${JSON.stringify(part)}`,
      );
    }
    let minutes: number | null = null;
    if (minutesText !== undefined) {
      minutes = Number(minutesText);
      if (minutesText.trim() === '' || !Number.isFinite(minutes) || minutes <= 0) {
        throw fail(`the minutes of ${name} must be a positive number, got ${JSON.stringify(minutesText)}`);
      }
    }
    if (steps.some((st) => st.name === name)) throw fail(`${name} appears twice`);
    steps.push({ name, minutes });
  }
  if (steps.length > 1 && steps.some((st) => st.name === 'steady'))
    throw fail('steady cannot be part of a sequence');
  return steps;
}

/**
 * The windows of a sequence, one after another: the first opens as a
 * single scenario's would (scenarioWindow), each next one SEQUENCE_GAP_MS
 * after the previous closed, all cut at the live phase's end. A step with
 * no room left (or no window: steady) gets null.
 */
export function sequenceWindows(
  steps: readonly ScenarioStep[],
  t: { liveFromMs: number; liveUntilMs: number },
  startAfterMs: number | null = null,
): (ScenarioWindow | null)[] {
  const out: (ScenarioWindow | null)[] = [];
  let nextStartAfterMs = startAfterMs;
  for (const step of steps) {
    const w = scenarioWindow(WORLD_SCENARIOS[step.name], t, {
      startAfterMs: nextStartAfterMs,
      durationMs: step.minutes === null ? null : Math.round(step.minutes * MS_PER_MIN),
    });
    out.push(w);
    if (w !== null) nextStartAfterMs = w.untilMs + SEQUENCE_GAP_MS - t.liveFromMs;
    if (nextStartAfterMs !== null && t.liveFromMs + nextStartAfterMs >= t.liveUntilMs) {
      nextStartAfterMs = t.liveUntilMs - t.liveFromMs;
    }
  }
  return out;
}

/** A scenario as one run applies it: its window and the simulator hooks it resolved to. */
export interface AppliedScenario {
  scenario: WorldScenario;
  window: ScenarioWindow | null;
  flashSales: readonly ForcedFlashSale[];
  outages: readonly ForcedOutage[];
}

/** Schedules the scenario's simulator hooks over its window (call before the run; steady: nothing). */
export function applyScenario(
  sim: Simulator,
  s: WorldScenario,
  window: ScenarioWindow | null,
): AppliedScenario {
  const flashSales: ForcedFlashSale[] = [];
  const outages: ForcedOutage[] = [];
  if (window !== null) {
    for (const hook of s.sim) {
      if (hook.kind === 'flash-sale') {
        const sku =
          hook.sku === 'flash-pick' ? flashSaleSku(sim.world, sim.config, hook.multiplier) : hook.sku;
        flashSales.push(sim.forceFlashSale(sku, hook.multiplier, window.untilMs, window.fromMs));
      } else {
        const nodes = hook.nodes;
        const ids = 'busiestShare' in nodes ? busiestNodes(sim.world, nodes.busiestShare) : nodes;
        outages.push(sim.forceOutage(ids, window.fromMs, window.untilMs));
      }
    }
  }
  return { scenario: s, window, flashSales, outages };
}

/**
 * The SKU a scenario's flash sale hits: the most popular hot SKU whose
 * extra demand at `multiplier` stays within the world's flashMaxExtraPerS
 * (the cap random flash sales obey, so the data plane sees a surge the
 * world was sized for); none fits: the least popular hot SKU; no hot SKU:
 * the most popular SKU. Ties break by SKU id.
 */
export function flashSaleSku(world: World, config: SimConfig, multiplier: number): string {
  const byPopularity = [...world.skus].sort(
    (a, b) => b.popularity - a.popularity || (a.sku < b.sku ? -1 : 1),
  );
  const hot = byPopularity.filter((s) => s.hot);
  const fits = hot.find(
    (s) => config.checkoutsPerS * s.popularity * (multiplier - 1) <= config.flashMaxExtraPerS,
  );
  const pick = fits ?? hot.at(-1) ?? byPopularity[0];
  if (pick === undefined) throw new AtpError(ERR.SIM_HOOK, 'the world has no SKU to put on sale', 'sku');
  return pick.sku;
}

/**
 * The busiest `share` of the world's nodes (at least one): by the expected
 * demand of the pairs they stock, ties by node id. A feed outage there is
 * felt by many checkouts.
 */
export function busiestNodes(world: World, share: number): string[] {
  const demand = new Map<string, number>(world.nodes.map((n) => [n.nodeId, 0]));
  for (const p of world.pairs) demand.set(p.node, (demand.get(p.node) ?? 0) + p.demandPerH);
  const count = Math.max(1, Math.min(world.nodes.length, Math.ceil(world.nodes.length * share)));
  return [...demand.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, count)
    .map(([id]) => id);
}

/**
 * The supervisor's side of a scenario (the lead implements it over the
 * world's processes). The driver calls onScenarioStart when the world
 * reaches window.fromMs and onScenarioEnd at window.untilMs (or when the
 * run ends or is stopped inside the window), once each, in that order,
 * never for steady. It does not wait for them: the world keeps running
 * while a process restarts, as it would in production. A rejection fails
 * the run at its next step.
 */
export interface ScenarioCallbacks {
  onScenarioStart(applied: AppliedScenario, atMs: number): void | Promise<void>;
  onScenarioEnd(applied: AppliedScenario, atMs: number): void | Promise<void>;
}
