/**
 * Everything a training run depends on, with the defaults `npm run train`
 * uses. The bundle version is derived from it: `gbdt-s<seed>-<8 hex of the
 * config hash>`, so the same config always names (and writes) the same
 * bundle, and any change of a knob names a new one.
 */
import { createHash } from 'node:crypto';
import { featureSchemaHash } from '@mercato/features/feature-vector';
import { DEFAULT_BATCH_INTERVAL_MS, DEFAULT_WARMUP_MS } from '../dataset/simulated-dataset.js';
import { DEFAULT_SPLIT, type SplitShares } from '../dataset/split-dataset.js';
import type { GbdtParams } from '../gbdt/gbdt-params.js';

/**
 * Training world k (k = 0, 1, ...) runs seed + k * WORLD_SEED_STRIDE; the
 * calibration worlds continue the sequence; the held-out seed must be none
 * of them.
 */
export const WORLD_SEED_STRIDE = 1_000;
/** One oversell costs as much as this many lost sales (checkout). */
export const DEFAULT_COST_RATIO = 10;
/** Product-page badges: a wrong "in stock" costs less than a wrong checkout promise. */
export const DEFAULT_BROWSE_COST_RATIO = 2;
/**
 * A SKU is hot above this many requests per minute (sketch estimate). The
 * simulated region's busiest SKU sees ~7/min outside flash sales; a flash
 * sale adds up to 36/min, so 20 marks "on a flash sale", not "popular".
 */
export const DEFAULT_HOT_SKU_RATE_PER_MIN = 20;

export type CalibrationMethod = 'isotonic' | 'platt';

export interface TrainConfig {
  /** Seed of the (first) training world and of the trainer's subsampling. */
  seed: number;
  /** Number of training worlds (seeds seed, seed + 1000, ...). */
  trainWorlds: number;
  /** Events per training world (the simulator stops after the action that emits the n-th). */
  events: number;
  /**
   * Worlds whose rows calibrate the model and place the thresholds (0 = use
   * the training worlds' validation split instead). Other worlds than the
   * training one(s): what the trees memorised about the training world's
   * nodes does not hold for new nodes, and calibration must see that.
   */
  calibrationWorlds: number;
  calibrationEvents: number;
  /** The held-out world: acceptance numbers come from it. */
  testSeed: number;
  testEvents: number;
  warmupMs: number;
  batchIntervalMs: number;
  split: SplitShares;
  gbdt: Partial<GbdtParams>;
  costRatio: number;
  browseCostRatio: number;
  hotSkuRatePerMin: number;
  calibration: CalibrationMethod;
  /**
   * Train under data residency across these regions (training/src/federated):
   * only aggregates cross borders. Absent = pooled training (and the config
   * hash of a pooled run is unchanged).
   */
  federatedRegions?: string[];
}

export const DEFAULT_GBDT_TRAINING: Partial<GbdtParams> = {
  nTrees: 300,
  maxDepth: 6,
  maxLeaves: 64,
  learningRate: 0.1,
  // Strong regularisation: a training world has few nodes, and what the trees learn about one
  // node's quirks does not carry to another world's nodes (held-out seeds measured better with it).
  minChildWeight: 50,
  lambdaL2: 10,
  rowSubsample: 0.4,
  colSubsample: 0.7,
  maxBins: 255,
  earlyStoppingRounds: 30,
};

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  seed: 1,
  trainWorlds: 1,
  events: 1_000_000,
  calibrationWorlds: 2,
  calibrationEvents: 1_000_000,
  testSeed: 2,
  testEvents: 400_000,
  warmupMs: DEFAULT_WARMUP_MS,
  batchIntervalMs: DEFAULT_BATCH_INTERVAL_MS,
  split: DEFAULT_SPLIT,
  gbdt: DEFAULT_GBDT_TRAINING,
  costRatio: DEFAULT_COST_RATIO,
  browseCostRatio: DEFAULT_BROWSE_COST_RATIO,
  hotSkuRatePerMin: DEFAULT_HOT_SKU_RATE_PER_MIN,
  calibration: 'isotonic',
};

export function trainWorldSeeds(c: TrainConfig): number[] {
  return Array.from({ length: c.trainWorlds }, (_, k) => c.seed + k * WORLD_SEED_STRIDE);
}

export function calibrationWorldSeeds(c: TrainConfig): number[] {
  return Array.from(
    { length: c.calibrationWorlds },
    (_, k) => c.seed + (c.trainWorlds + k) * WORLD_SEED_STRIDE,
  );
}

/** Canonical JSON (sorted keys) of the config plus the feature schema it trains on. */
export function configFingerprint(c: TrainConfig): string {
  return canonicalJson({ config: c, featureSchema: featureSchemaHash(), gbdtSeed: c.seed });
}

export function configHash(c: TrainConfig): string {
  return createHash('sha256').update(configFingerprint(c)).digest('hex');
}

export function bundleVersion(c: TrainConfig): string {
  return `gbdt-s${c.seed}-${configHash(c).slice(0, 8)}`;
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
