/**
 * Gradient-boosted trees for binary log loss, trained on pre-binned
 * features with per-node histograms (the LightGBM / XGBoost-hist recipe):
 *
 * - features are binned once (feature-bins.ts) into a row-major Uint8
 *   matrix; validation rows are binned with the training edges;
 * - each round grows one tree (tree-builder.ts) from per-node histograms of
 *   [sum g, sum h] per (feature, bin) (histogram-pool.ts);
 * - rows (Bernoulli) and features are subsampled per tree with a seeded PRNG;
 * - early stopping keeps the round with the best validation log loss.
 *
 * No per-row objects anywhere: rows are indices into typed arrays.
 */
import { Prng } from '../simulator/prng.js';
import { binMatrix, computeFeatureBins, type FeatureBins } from './feature-bins.js';
import type { GbdtModel, GbdtTree } from './gbdt-model.js';
import { type GbdtParams, gbdtParamError, resolveGbdtParams } from './gbdt-params.js';
import { logit, logLossGradients, meanLogLossRaw } from './log-loss.js';
import { TreeBuilder } from './tree-builder.js';

/** PRNG stream of row sampling (feature sampling uses the next one). */
export const ROW_SAMPLE_STREAM = 11;
export const COL_SAMPLE_STREAM = 12;

export interface TrainMatrix {
  /** Row-major float32 features, rows x cols. */
  x: Float32Array;
  /** 0/1 labels. */
  y: Uint8Array;
  rows: number;
}

export interface RoundInfo {
  round: number;
  rounds: number;
  trainLoss: number;
  /** NaN when no validation set was given. */
  validLoss: number;
  leaves: number;
}

export interface TrainGbdtOptions {
  /** Validation rows for early stopping (binned with the training edges). */
  valid?: TrainMatrix;
  /** Called after every round (progress bars, logs). */
  onRound?: (info: RoundInfo) => void;
  /**
   * Bin edges to use instead of quantiles of `x` (the federated trainer's
   * agreed edges, so a pooled run can be compared tree for tree).
   */
  bins?: FeatureBins;
  /** Relative gain margin under which two splits tie (see findBestSplit); default 0 = exact. */
  splitTieTolerance?: number;
}

/**
 * Trains a model on `rows` x `cols` float32 features (row-major) and 0/1
 * labels. Deterministic: the same inputs and params give the same trees, bit
 * for bit.
 */
export function trainGbdt(
  x: Float32Array,
  y: Uint8Array,
  rows: number,
  cols: number,
  params: Partial<GbdtParams> = {},
  options: TrainGbdtOptions = {},
): GbdtModel {
  const p = resolveGbdtParams(params);
  checkMatrix('x', x, y, rows, cols);
  if (options.valid !== undefined) {
    const v = options.valid;
    checkMatrix('valid.x', v.x, v.y, v.rows, cols);
  }
  const bins = options.bins ?? computeFeatureBins(x, rows, cols, p.maxBins, p.binSampleRows);
  if (bins.edges.length !== cols)
    throw gbdtParamError('bins.edges', `has ${bins.edges.length} features, need ${cols}`);
  const binned = binMatrix(x, rows, cols, bins);
  const valid = options.valid;
  const validBinned = valid === undefined ? null : binMatrix(valid.x, valid.rows, cols, bins);
  return boost(
    binned,
    y,
    rows,
    cols,
    bins,
    p,
    valid ?? null,
    validBinned,
    options.onRound,
    options.splitTieTolerance,
  );
}

/** Trains on an already binned matrix (benchmarks time the boosting alone this way). */
export function trainGbdtBinned(
  binned: Uint8Array,
  y: Uint8Array,
  rows: number,
  cols: number,
  bins: FeatureBins,
  params: Partial<GbdtParams> = {},
  onRound?: (info: RoundInfo) => void,
): GbdtModel {
  return boost(binned, y, rows, cols, bins, resolveGbdtParams(params), null, null, onRound);
}

function checkMatrix(field: string, x: Float32Array, y: Uint8Array, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || rows < 1) throw gbdtParamError(`${field}.rows`, 'need at least one row');
  if (!Number.isInteger(cols) || cols < 1) throw gbdtParamError(`${field}.cols`, 'need at least one column');
  if (x.length < rows * cols) throw gbdtParamError(field, `holds ${x.length} values, need ${rows * cols}`);
  if (y.length < rows) throw gbdtParamError(`${field}.y`, `holds ${y.length} labels, need ${rows}`);
  for (let r = 0; r < rows; r++) {
    if (y[r]! > 1) throw gbdtParamError(`${field}.y[${r}]`, 'labels must be 0 or 1');
  }
}

function boost(
  binned: Uint8Array,
  y: Uint8Array,
  rows: number,
  cols: number,
  bins: FeatureBins,
  p: GbdtParams,
  valid: TrainMatrix | null,
  validBinned: Uint8Array | null,
  onRound: ((info: RoundInfo) => void) | undefined,
  tieTolerance = 0,
): GbdtModel {
  let positives = 0;
  for (let r = 0; r < rows; r++) positives += y[r]!;
  const baseScore = Math.fround(logit(positives / rows));

  const raw = new Float64Array(rows).fill(baseScore);
  const validRaw = valid === null ? null : new Float64Array(valid.rows).fill(baseScore);
  const gh = new Float64Array(2 * rows);
  const builder = new TreeBuilder(binned, rows, cols, bins, p, tieTolerance);
  const rowRng = new Prng(p.seed, ROW_SAMPLE_STREAM);
  const colRng = new Prng(p.seed, COL_SAMPLE_STREAM);
  const allFeatures = Int32Array.from({ length: cols }, (_, i) => i);
  const featureCount = Math.max(1, Math.round(cols * p.colSubsample));

  const trees: GbdtTree[] = [];
  const history = { train: [] as number[], valid: [] as number[] };
  let bestValid = Number.POSITIVE_INFINITY;
  let bestRound = -1;
  let rounds = 0;
  for (let t = 0; t < p.nTrees; t++) {
    logLossGradients(raw, y, rows, gh);
    const sampled = builder.sampleRows(p.rowSubsample, rowRng);
    const features = featureCount >= cols ? allFeatures : sampleFeatures(cols, featureCount, colRng);
    const tree = builder.build(gh, sampled, features);
    trees.push(tree);
    rounds++;
    builder.addLeafValues(tree, raw, sampled);
    const trainLoss = meanLogLossRaw(raw, y, rows);
    history.train.push(trainLoss);
    let validLoss = Number.NaN;
    if (valid !== null && validRaw !== null && validBinned !== null) {
      addTreeBinned(tree, validBinned, valid.rows, cols, validRaw);
      validLoss = meanLogLossRaw(validRaw, valid.y, valid.rows);
      history.valid.push(validLoss);
      if (validLoss < bestValid) {
        bestValid = validLoss;
        bestRound = t;
      }
    }
    onRound?.({ round: t + 1, rounds: p.nTrees, trainLoss, validLoss, leaves: countLeaves(tree) });
    if (valid !== null && p.earlyStoppingRounds > 0 && t - bestRound >= p.earlyStoppingRounds) break;
  }
  if (valid !== null && bestRound >= 0 && bestRound < trees.length - 1) {
    trees.length = bestRound + 1;
    history.train.length = bestRound + 1;
    history.valid.length = bestRound + 1;
  }
  return { featureCount: cols, baseScore, trees, bins, params: p, history, roundsTrained: rounds };
}

export function countLeaves(t: GbdtTree): number {
  let n = 0;
  for (let i = 0; i < t.nodeCount; i++) if (t.feature[i]! < 0) n++;
  return n;
}

/** `k` distinct features of `cols`, ascending (partial Fisher-Yates). */
export function sampleFeatures(cols: number, k: number, rng: Prng): Int32Array {
  const all = Int32Array.from({ length: cols }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = rng.int(i, cols - 1);
    const tmp = all[i]!;
    all[i] = all[j]!;
    all[j] = tmp;
  }
  return all.subarray(0, k).sort();
}

/** Adds a tree's leaf values to raw scores of row-major binned rows. */
export function addTreeBinned(
  tree: GbdtTree,
  binned: Uint8Array,
  rows: number,
  cols: number,
  raw: Float64Array,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let node = 0;
    let f = tree.feature[0]!;
    while (f >= 0) {
      node = binned[o + f]! <= tree.thresholdBin[node]! ? tree.left[node]! : tree.right[node]!;
      f = tree.feature[node]!;
    }
    raw[r]! += tree.value[node]!;
  }
}
