/**
 * Small real model bundles for tests that need one (the sidecar's ONNX
 * ranker, the model registry, benchmarks) without running the simulator:
 * rows shaped like the sidecar's feature vector (FEATURE_NAMES order, with
 * consistent qty / on_hand / reserved / atp / margin / stale), labelled
 * "the pick succeeds" mostly when the margin is non-negative and the node is
 * fresh, then a GBDT trained on them and written with writeModelBundle.
 * Seeded: the same options write the same bytes.
 */
import { FEATURE_COUNT, FEATURE_NAMES, type FeatureName } from '@mercato/features/feature-vector';
import { trainGbdt } from '../gbdt/train-gbdt.js';
import { Prng } from '../simulator/prng.js';
import { type WrittenBundle, writeModelBundle } from './write-model-bundle.js';

const SYNTHETIC_ROWS_STREAM = 31;

export interface SyntheticBundleOptions {
  version?: string;
  rows?: number;
  trees?: number;
  maxDepth?: number;
  seed?: number;
}

export const SYNTHETIC_BUNDLE_DEFAULTS: Required<SyntheticBundleOptions> = {
  version: 'gbdt-synthetic-test',
  rows: 4_000,
  trees: 20,
  maxDepth: 4,
  seed: 1,
};

/** Rows in the sidecar's feature layout and their 0/1 labels. */
export function syntheticFeatureRows(rows: number, seed: number): { x: Float32Array; y: Uint8Array } {
  const rng = new Prng(seed, SYNTHETIC_ROWS_STREAM);
  const x = new Float32Array(rows * FEATURE_COUNT);
  const y = new Uint8Array(rows);
  const col = (name: FeatureName): number => FEATURE_NAMES.indexOf(name);
  for (let r = 0; r < rows; r++) {
    const o = r * FEATURE_COUNT;
    const set = (name: FeatureName, v: number): void => {
      x[o + col(name)] = v;
    };
    const qty = rng.chance(0.85) ? 1 : rng.int(2, 5);
    const onHand = rng.int(0, 30);
    const reserved = rng.int(0, Math.min(onHand, 5));
    const atp = onHand - reserved;
    const nodeType = rng.int(0, 2);
    const stale = rng.chance(0.05) ? 1 : 0;
    const heartbeatAgeS = stale === 1 ? rng.uniform(300, 3_000) : rng.uniform(0, 40);
    set('qty', qty);
    set('on_hand', onHand);
    set('reserved', reserved);
    set('atp', atp);
    set('margin', atp - qty);
    set('atp_per_qty', atp / qty);
    set('stock_age_s', rng.exp(1_800));
    set('heartbeat_age_s', heartbeatAgeS);
    set('since_count_h', rng.uniform(0, 96));
    set('last_count_delta', rng.chance(0.2) ? -rng.int(1, 3) : 0);
    set('loss_per_received', rng.uniform(0, 0.08));
    set('velocity_per_h', rng.exp(2));
    set('expected_depletion', rng.exp(3));
    set('node_type', nodeType);
    set('node_loss_share', rng.uniform(0, 0.06));
    set('node_scan_accuracy', rng.uniform(0.7, 1));
    set('node_cancel_rate', rng.uniform(0, 0.1));
    set('node_feed_delay_s', nodeType === 2 ? rng.uniform(5, 60) : rng.uniform(0.05, 5));
    set('handling_h', rng.uniform(0.5, 4));
    set('cancel_share', rng.uniform(0, 0.2));
    set('sku_rate_per_min', rng.exp(2));
    set('stream_lag_s', 0);
    set('stale', stale);
    // About 0.9 at margin 0, 0.2 at margin -1, and a stale node halves the odds several times over.
    const z = 4 * Math.tanh(atp - qty + 0.5) + 0.5 - 3 * stale - 0.3 * nodeType;
    y[r] = rng.float() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { x, y };
}

/** Trains a small model on syntheticFeatureRows and writes it as a bundle in `dir`. */
export function writeSyntheticBundle(dir: string, options: SyntheticBundleOptions = {}): WrittenBundle {
  const o = { ...SYNTHETIC_BUNDLE_DEFAULTS, ...options };
  const { x, y } = syntheticFeatureRows(o.rows, o.seed);
  const model = trainGbdt(x, y, o.rows, FEATURE_COUNT, {
    nTrees: o.trees,
    maxDepth: o.maxDepth,
    maxLeaves: 2 ** o.maxDepth,
    learningRate: 0.2,
    earlyStoppingRounds: 0,
    seed: o.seed,
  });
  return writeModelBundle(dir, {
    version: o.version,
    model,
    training: { synthetic: true, rows: o.rows, trees: o.trees, maxDepth: o.maxDepth, seed: o.seed },
  });
}
