/**
 * Federated training on the training pipeline's rows, with the proof that
 * it matches pooled training.
 *
 * Region assignment: the simulator models one region, so rows are assigned
 * to the federation's regions deterministically by checkout (a hash of the
 * checkout number: every row of a checkout lands in the same region, as a
 * buyer's checkout would). Each region's table is then wrapped as
 * RegionPrivate and handed to its RegionWorker; the coordinator sees only
 * aggregates.
 *
 * The pooled baseline concatenates the regions' tables in federation order
 * (what pooling them would produce) and trains with the same agreed edges;
 * the comparison then checks split features, bins and thresholds tree by
 * tree, and the largest leaf-value and prediction differences.
 */
import type { DecisionRows } from '../dataset/decision-rows.js';
import type { GbdtModel } from '../gbdt/gbdt-model.js';
import { predictRaw } from '../gbdt/gbdt-model.js';
import { type GbdtParams, gbdtParamError } from '../gbdt/gbdt-params.js';
import { type RoundInfo, trainGbdt } from '../gbdt/train-gbdt.js';
import type { BorderTraffic } from './border-guard.js';
import { RegionPrivate } from './region-data.js';
import { type RegionRows, RegionWorker } from './region-worker.js';
import { FEDERATED_TIE_TOLERANCE, trainFederated } from './train-federated.js';

export interface TableRows {
  x: Float32Array;
  y: Uint8Array;
  rows: number;
  /** Checkout number of every row (the region assignment key). */
  checkout: Int32Array;
}

/** Region index of every row: a hash of its checkout number (deterministic, all rows of a checkout together). */
export function assignRegions(checkout: Int32Array, rows: number, regionCount: number): Uint8Array {
  const out = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    let z = Math.imul(checkout[r]! ^ 0x5bd1e995, 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    out[r] = ((z ^ (z >>> 16)) >>> 0) % regionCount;
  }
  return out;
}

/** The rows of region `k` (by `assign`), as a fresh table. */
export function regionTable(t: TableRows, cols: number, assign: Uint8Array, k: number): TableRows {
  let n = 0;
  for (let r = 0; r < t.rows; r++) if (assign[r] === k) n++;
  const x = new Float32Array(n * cols);
  const y = new Uint8Array(n);
  const checkout = new Int32Array(n);
  let o = 0;
  for (let r = 0; r < t.rows; r++) {
    if (assign[r] !== k) continue;
    x.set(t.x.subarray(r * cols, (r + 1) * cols), o * cols);
    y[o] = t.y[r]!;
    checkout[o] = t.checkout[r]!;
    o++;
  }
  return { x, y, rows: n, checkout };
}

function concat(parts: readonly TableRows[], cols: number): TableRows {
  const rows = parts.reduce((a, p) => a + p.rows, 0);
  const x = new Float32Array(rows * cols);
  const y = new Uint8Array(rows);
  const checkout = new Int32Array(rows);
  let o = 0;
  for (const p of parts) {
    x.set(p.x.subarray(0, p.rows * cols), o * cols);
    y.set(p.y.subarray(0, p.rows), o);
    checkout.set(p.checkout.subarray(0, p.rows), o);
    o += p.rows;
  }
  return { x, y, rows, checkout };
}

export interface ModelMatch {
  sameTrees: boolean;
  /** First difference found (tree, node, what), or null. */
  firstDifference: string | null;
  trees: [number, number];
  maxLeafValueDiff: number;
}

/** Tree-by-tree structural comparison: split features, split bins, thresholds, shape. */
export function compareModels(a: GbdtModel, b: GbdtModel): ModelMatch {
  let first: string | null = null;
  let maxLeaf = 0;
  if (a.trees.length !== b.trees.length) first = `tree count ${a.trees.length} vs ${b.trees.length}`;
  for (let t = 0; t < Math.min(a.trees.length, b.trees.length) && first === null; t++) {
    const x = a.trees[t]!;
    const y = b.trees[t]!;
    if (x.nodeCount !== y.nodeCount) {
      first = `tree ${t}: ${x.nodeCount} vs ${y.nodeCount} nodes`;
      break;
    }
    for (let n = 0; n < x.nodeCount && first === null; n++) {
      if (x.feature[n] !== y.feature[n] || x.left[n] !== y.left[n] || x.right[n] !== y.right[n]) {
        first = `tree ${t} node ${n}: feature ${x.feature[n]} vs ${y.feature[n]}`;
      } else if (
        x.feature[n]! >= 0 &&
        (x.thresholdBin[n] !== y.thresholdBin[n] || x.threshold[n] !== y.threshold[n])
      ) {
        first = `tree ${t} node ${n}: threshold ${x.threshold[n]} vs ${y.threshold[n]}`;
      } else if (x.feature[n]! < 0) maxLeaf = Math.max(maxLeaf, Math.abs(x.value[n]! - y.value[n]!));
    }
  }
  return {
    sameTrees: first === null,
    firstDifference: first,
    trees: [a.trees.length, b.trees.length],
    maxLeafValueDiff: maxLeaf,
  };
}

/** Largest |p_a - p_b| (probabilities) over `rows` row-major rows. */
export function maxPredictionDiff(a: GbdtModel, b: GbdtModel, x: Float32Array, rows: number): number {
  const ra = predictRaw(a, x, rows);
  const rb = predictRaw(b, x, rows);
  let m = 0;
  for (let r = 0; r < rows; r++)
    m = Math.max(m, Math.abs(1 / (1 + Math.exp(-ra[r]!)) - 1 / (1 + Math.exp(-rb[r]!))));
  return m;
}

export interface FederatedRun {
  regions: readonly string[];
  federated: GbdtModel;
  /** Pooled training on the concatenated regional tables, with the federation's agreed edges. */
  pooled: GbdtModel;
  match: ModelMatch;
  traffic: BorderTraffic;
  regionRows: Record<string, number>;
  /** Bytes of the raw rows (float32 features + label) outside the coordinator's region: what pooling would move. */
  rawCrossBytes: number;
  /** Bytes of all raw training and validation rows. */
  rawBytes: number;
  federatedSeconds: number;
  pooledSeconds: number;
}

const asTable = (d: DecisionRows): TableRows => ({ x: d.x, y: d.y, rows: d.rows, checkout: d.checkout });

/** Splits the pipeline's train / valid rows by region, trains federated and pooled, compares. */
export function runFederatedTraining(
  train: DecisionRows,
  valid: DecisionRows,
  cols: number,
  regions: readonly string[],
  params: GbdtParams,
  onRound?: (info: RoundInfo) => void,
): FederatedRun {
  if (regions.length < 1 || regions.length > 255) throw gbdtParamError('regions', 'need 1 to 255 regions');
  const ta = assignRegions(train.checkout, train.rows, regions.length);
  const va = assignRegions(valid.checkout, valid.rows, regions.length);
  const tables = regions.map((_, k) => ({
    train: regionTable(asTable(train), cols, ta, k),
    valid: regionTable(asTable(valid), cols, va, k),
  }));
  const workers = regions.map((region, k) => {
    const t = tables[k]!;
    const rows: RegionRows = { x: t.train.x, y: t.train.y, rows: t.train.rows, valid: t.valid };
    return new RegionWorker(region, new RegionPrivate(region, rows), cols, params.maxBins);
  });
  const t0 = performance.now();
  const fed = trainFederated(workers, cols, params, onRound);
  const federatedSeconds = (performance.now() - t0) / 1000;

  const pooledTrain = concat(
    tables.map((t) => t.train),
    cols,
  );
  const pooledValid = concat(
    tables.map((t) => t.valid),
    cols,
  );
  const t1 = performance.now();
  const pooled = trainGbdt(pooledTrain.x, pooledTrain.y, pooledTrain.rows, cols, params, {
    valid: pooledValid,
    bins: fed.bins,
    splitTieTolerance: FEDERATED_TIE_TOLERANCE,
  });
  const pooledSeconds = (performance.now() - t1) / 1000;
  const rowBytes = cols * 4 + 1;
  const rawBytes = (pooledTrain.rows + pooledValid.rows) * rowBytes;
  const home = tables[0]!;
  const rawCrossBytes = rawBytes - (home.train.rows + home.valid.rows) * rowBytes;
  return {
    regions,
    federated: fed.model,
    pooled,
    match: compareModels(fed.model, pooled),
    traffic: fed.traffic,
    regionRows: fed.regionRows,
    rawCrossBytes,
    rawBytes,
    federatedSeconds,
    pooledSeconds,
  };
}
