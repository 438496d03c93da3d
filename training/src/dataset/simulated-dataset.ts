/**
 * A dataset from a freshly simulated world: runs the seeded simulator and
 * feeds its records, as they stream, to buildDataset with the world's node
 * directory (never its hidden traits).
 */
import type { NodeInfo } from '@mercato/features/node-profile';
import type { SimConfigInput } from '../simulator/sim-config.js';
import { Simulator } from '../simulator/simulator.js';
import { buildDataset, type DatasetOptions, type DecisionDataset } from './build-dataset.js';

const MS_PER_H = 3_600_000;
/** Default warm-up: batch features see this much history before the first row. */
export const DEFAULT_WARMUP_MS = 4 * MS_PER_H;
/** Default batch refresh: a new batch-feature version every few simulated hours (a nightly job, time-compressed). */
export const DEFAULT_BATCH_INTERVAL_MS = 4 * MS_PER_H;

export interface SimulatedDatasetConfig {
  seed: number;
  /** The simulator stops after the action that emits this many events. */
  events: number;
  warmupMs?: number;
  batchIntervalMs?: number;
  /** Extra simulator knobs (the seed and event limit above win). */
  sim?: SimConfigInput;
  onProgress?: (eventsSeen: number, simMs: number) => void;
}

export interface SimulatedDataset {
  dataset: DecisionDataset;
  nodes: readonly NodeInfo[];
  seed: number;
  events: number;
}

export function simulatedDataset(config: SimulatedDatasetConfig): SimulatedDataset {
  const sim = new Simulator({ ...(config.sim ?? {}), seed: config.seed, maxEvents: config.events });
  const start = sim.config.startTimeMs;
  const options: DatasetOptions = {
    warmupMs: config.warmupMs ?? DEFAULT_WARMUP_MS,
    batchIntervalMs: config.batchIntervalMs ?? DEFAULT_BATCH_INTERVAL_MS,
  };
  const progress = config.onProgress;
  if (progress !== undefined)
    options.onProgress = () => progress(sim.stats().eventsEmitted, sim.stats().nowMs - start);
  const dataset = buildDataset(sim.run(), sim.world.nodes, options);
  return { dataset, nodes: sim.world.nodes, seed: config.seed, events: config.events };
}
