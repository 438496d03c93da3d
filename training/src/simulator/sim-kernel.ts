/**
 * What every process of the simulator shares: the resolved config, the
 * static world and its indexes, the run's one PRNG stream, the event queue,
 * the simulated clock and the records the current step yields. The
 * Simulator creates it and hands it to each process; processes schedule
 * their own work through it and never call back into the Simulator.
 *
 * Determinism rests here: one PRNG consumed in program order and one queue
 * whose ties break by push order, so the same seed replays the same draws
 * in the same order, byte for byte. A process must not draw or schedule
 * depending on anything but the config, the world and earlier draws.
 */
import type { World } from './build-world.js';
import { EventQueue } from './event-queue.js';
import { Prng } from './prng.js';
import type { SimConfig } from './sim-config.js';
import { ITEM, RANK_ACTION, RANK_DELIVER, type SimItem } from './sim-item.js';
import type { SimRecord } from './sim-record.js';
import { WorldIndex } from './world-index.js';

export const MS_PER_MIN = 60_000;
export const MS_PER_H = 3_600_000;
export const MS_PER_DAY = 86_400_000;
/** PRNG stream of the run (the world builder uses its own). */
const RUN_STREAM = 2;

export class SimKernel {
  readonly rng: Prng;
  readonly queue = new EventQueue<SimItem>();
  readonly index: WorldIndex;
  /** Records of the step being processed; the run loop yields and clears them after each step. */
  readonly out: SimRecord[] = [];
  /** The simulated clock: the due time of the item being processed. */
  nowMs: number;
  /** Set when the world stops: no new actions, deliveries continue (see Simulator.beginDrain). */
  draining = false;

  constructor(
    readonly config: SimConfig,
    readonly world: World,
  ) {
    this.rng = new Prng(config.seed, RUN_STREAM);
    this.index = new WorldIndex(world);
    this.nowMs = config.startTimeMs;
  }

  /** Schedules an action of `kind` at atMs (deliveries go through the feeds' dispatch instead). */
  at(atMs: number, kind: number, i = 0, ref: SimItem['ref'] = null, q = 0, epoch = 0): void {
    this.queue.push({
      atMs,
      rank: kind === ITEM.DELIVER ? RANK_DELIVER : RANK_ACTION,
      order: 0,
      kind,
      i,
      q,
      epoch,
      ref,
    });
  }

  /** Next arrival of a Poisson process with the given rate per hour (Infinity when the rate is 0). */
  afterPoisson(perHour: number): number {
    if (perHour <= 0) return Number.POSITIVE_INFINITY;
    return this.nowMs + Math.round(this.rng.exp(MS_PER_H / perHour));
  }

  /** Schedules the next arrival of a Poisson process; nothing when its rate is 0. */
  atPoisson(perHour: number, kind: number, i = 0): void {
    const t = this.afterPoisson(perHour);
    if (t !== Number.POSITIVE_INFINITY) this.at(t, kind, i);
  }
}
