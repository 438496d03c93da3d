/**
 * Gradient-boosted trees for binary log loss, trained on pre-binned
 * features with per-node histograms (the LightGBM / XGBoost-hist recipe):
 *
 * - features are binned once (feature-bins.ts) into a row-major Uint8
 *   matrix; validation rows are binned with the training edges;
 * - each tree owns an index array partitioned in place, so a leaf is a
 *   contiguous segment of row ids (stable: ids stay ascending in a segment,
 *   which keeps the matrix reads monotone);
 * - a node's histogram holds [sum g, sum h] per (feature, bin); after a split
 *   only the smaller child's histogram is built, the larger one is the
 *   parent's minus it (the subtraction trick);
 * - leaves grow best-gain first under the depth and leaf limits;
 * - rows (Bernoulli) and features are subsampled per tree with a seeded PRNG;
 * - early stopping keeps the round with the best validation log loss.
 *
 * No per-row objects anywhere: rows are indices into typed arrays.
 */
import { Prng } from '../simulator/prng.js';
import { binMatrix, computeFeatureBins, type FeatureBins } from './feature-bins.js';
import type { GbdtModel, GbdtTree } from './gbdt-model.js';
import { GbdtParamError, type GbdtParams, resolveGbdtParams } from './gbdt-params.js';
import { logit, logLossGradients, meanLogLossRaw } from './log-loss.js';
import { findBestSplit, leafValue, type SplitCandidate } from './split-gain.js';

/** PRNG stream of row sampling (feature sampling uses the next one). */
const ROW_SAMPLE_STREAM = 11;
const COL_SAMPLE_STREAM = 12;

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
  const bins = computeFeatureBins(x, rows, cols, p.maxBins, p.binSampleRows);
  const binned = binMatrix(x, rows, cols, bins);
  const valid = options.valid;
  const validBinned = valid === undefined ? null : binMatrix(valid.x, valid.rows, cols, bins);
  return boost(binned, y, rows, cols, bins, p, valid ?? null, validBinned, options.onRound);
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
  if (!Number.isInteger(rows) || rows < 1) throw new GbdtParamError(`${field}.rows`, 'need at least one row');
  if (!Number.isInteger(cols) || cols < 1)
    throw new GbdtParamError(`${field}.cols`, 'need at least one column');
  if (x.length < rows * cols)
    throw new GbdtParamError(field, `holds ${x.length} values, need ${rows * cols}`);
  if (y.length < rows) throw new GbdtParamError(`${field}.y`, `holds ${y.length} labels, need ${rows}`);
  for (let r = 0; r < rows; r++) {
    if (y[r]! > 1) throw new GbdtParamError(`${field}.y[${r}]`, 'labels must be 0 or 1');
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
): GbdtModel {
  let positives = 0;
  for (let r = 0; r < rows; r++) positives += y[r]!;
  const baseScore = Math.fround(logit(positives / rows));

  const raw = new Float64Array(rows).fill(baseScore);
  const validRaw = valid === null ? null : new Float64Array(valid.rows).fill(baseScore);
  const gh = new Float64Array(2 * rows);
  const builder = new TreeBuilder(binned, rows, cols, bins, p);
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

function countLeaves(t: GbdtTree): number {
  let n = 0;
  for (let i = 0; i < t.nodeCount; i++) if (t.feature[i]! < 0) n++;
  return n;
}

/** `k` distinct features of `cols`, ascending (partial Fisher-Yates). */
function sampleFeatures(cols: number, k: number, rng: Prng): Int32Array {
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

/** A leaf waiting to be split: its segment of the index array and its best split. */
interface OpenLeaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  g: number;
  h: number;
  /** Histogram slot, or -1 when the leaf can never split (no histogram kept). */
  slot: number;
  best: SplitCandidate;
}

interface Sampled {
  /** Rows in the tree's sample (the first `count` entries of the builder's index array). */
  count: number;
  /** Rows left out of the sample (the first `outCount` entries of the builder's out array). */
  outCount: number;
}

/** Grows one tree at a time; holds every buffer so rounds allocate only the tree itself. */
class TreeBuilder {
  private readonly idx: Int32Array;
  private readonly tmp: Int32Array;
  private readonly out: Int32Array;
  /** Histogram buffers, allocated on first use and reused across trees. */
  private readonly slots: Float64Array[] = [];
  private readonly histStride: number;
  private readonly freeSlots: number[] = [];
  /** Segments of the finished leaves of the last tree: [node, start, end] triples. */
  private leafSegments: number[] = [];

  constructor(
    private readonly binned: Uint8Array,
    private readonly rows: number,
    private readonly cols: number,
    private readonly bins: FeatureBins,
    private readonly p: GbdtParams,
  ) {
    this.idx = new Int32Array(rows);
    this.tmp = new Int32Array(rows);
    this.out = new Int32Array(rows);
    this.histStride = cols * p.maxBins * 2;
  }

  sampleRows(rate: number, rng: Prng): Sampled {
    const n = this.rows;
    if (rate >= 1) {
      for (let r = 0; r < n; r++) this.idx[r] = r;
      return { count: n, outCount: 0 };
    }
    let c = 0;
    let o = 0;
    for (let r = 0; r < n; r++) {
      if (rng.float() < rate) this.idx[c++] = r;
      else this.out[o++] = r;
    }
    if (c === 0) {
      // An empty sample cannot grow a tree: keep the first row (only reachable with tiny data and rate).
      this.idx[c++] = this.out[0]!;
      this.out.copyWithin(0, 1, o);
      o--;
    }
    return { count: c, outCount: o };
  }

  build(gh: Float64Array, sampled: Sampled, features: Int32Array): GbdtTree {
    const p = this.p;
    const maxNodes = 2 * p.maxLeaves - 1;
    const t = newTree(Math.min(maxNodes, 2 ** (p.maxDepth + 1) - 1));
    this.freeSlots.length = 0;
    for (let s = this.slots.length - 1; s >= 0; s--) this.freeSlots.push(s);

    const rootSlot = this.takeSlot();
    this.buildHistogram(gh, rootSlot, 0, sampled.count);
    let g = 0;
    let h = 0;
    for (let i = 0; i < sampled.count; i++) {
      const r = this.idx[i]!;
      g += gh[2 * r]!;
      h += gh[2 * r + 1]!;
    }
    t.nodeCount = 1;
    t.cover[0] = h;
    const open: OpenLeaf[] = [];
    const root = this.openLeaf(0, 0, sampled.count, 0, g, h, rootSlot, features);
    open.push(root);
    const done: OpenLeaf[] = [];
    let leaves = 1;
    while (leaves < p.maxLeaves) {
      // Best gain first; ties go to the lowest node id (deterministic).
      let bi = -1;
      for (let i = 0; i < open.length; i++) {
        const l = open[i]!;
        if (l.best.gain === Number.NEGATIVE_INFINITY) continue;
        if (bi < 0 || l.best.gain > open[bi]!.best.gain) bi = i;
      }
      if (bi < 0) break;
      const leaf = open[bi]!;
      open.splice(bi, 1);
      const [left, right] = this.split(t, leaf, gh, features);
      leaves++;
      for (const child of [left, right]) {
        if (child.slot < 0) done.push(child);
        else open.push(child);
      }
    }
    for (const l of open) done.push(l);
    this.leafSegments = [];
    for (const l of done) {
      t.value[l.node] = Math.fround(p.learningRate * leafValue(l.g, l.h, p.lambdaL2));
      this.leafSegments.push(l.node, l.start, l.end);
    }
    return trimTree(t);
  }

  /** raw += tree(row) for every training row: sampled rows by their leaf segment, the rest by traversal. */
  addLeafValues(tree: GbdtTree, raw: Float64Array, sampled: Sampled): void {
    const segs = this.leafSegments;
    for (let k = 0; k < segs.length; k += 3) {
      const v = tree.value[segs[k]!]!;
      for (let i = segs[k + 1]!; i < segs[k + 2]!; i++) raw[this.idx[i]!]! += v;
    }
    const cols = this.cols;
    for (let i = 0; i < sampled.outCount; i++) {
      const r = this.out[i]!;
      let node = 0;
      let f = tree.feature[0]!;
      while (f >= 0) {
        node = this.binned[r * cols + f]! <= tree.thresholdBin[node]! ? tree.left[node]! : tree.right[node]!;
        f = tree.feature[node]!;
      }
      raw[r]! += tree.value[node]!;
    }
  }

  private openLeaf(
    node: number,
    start: number,
    end: number,
    depth: number,
    g: number,
    h: number,
    slot: number,
    features: Int32Array,
  ): OpenLeaf {
    const best: SplitCandidate = { gain: Number.NEGATIVE_INFINITY, feature: -1, bin: -1, gl: 0, hl: 0 };
    if (slot >= 0) {
      const p = this.p;
      findBestSplit(
        this.slots[slot]!,
        0,
        features,
        this.bins.binCounts,
        p.maxBins,
        g,
        h,
        p.lambdaL2,
        p.minSplitGain,
        p.minChildWeight,
        best,
      );
    }
    return { node, start, end, depth, g, h, slot, best };
  }

  private split(t: GbdtTree, leaf: OpenLeaf, gh: Float64Array, features: Int32Array): [OpenLeaf, OpenLeaf] {
    const { feature: f, bin } = leaf.best;
    const cols = this.cols;
    const idx = this.idx;
    const binned = this.binned;
    // Stable partition: left rows stay in place, right rows go through tmp.
    let l = leaf.start;
    let rc = 0;
    for (let i = leaf.start; i < leaf.end; i++) {
      const r = idx[i]!;
      if (binned[r * cols + f]! <= bin) idx[l++] = r;
      else this.tmp[rc++] = r;
    }
    idx.set(this.tmp.subarray(0, rc), l);

    const node = leaf.node;
    const li = t.nodeCount;
    const ri = li + 1;
    t.nodeCount += 2;
    t.feature[node] = f;
    t.thresholdBin[node] = bin;
    t.threshold[node] = this.bins.edges[f]![bin]!;
    t.left[node] = li;
    t.right[node] = ri;
    t.gain[node] = leaf.best.gain;
    const gl = leaf.best.gl;
    const hl = leaf.best.hl;
    const gr = leaf.g - gl;
    const hr = leaf.h - hl;
    t.cover[li] = hl;
    t.cover[ri] = hr;

    const depth = leaf.depth + 1;
    const leftCount = l - leaf.start;
    const rightCount = leaf.end - l;
    let leftSlot = -1;
    let rightSlot = -1;
    if (depth < this.p.maxDepth && (leftCount >= 2 || rightCount >= 2)) {
      // Build the smaller child's histogram; the parent's slot becomes the larger child's by subtraction.
      const small = this.takeSlot();
      const leftIsSmall = leftCount <= rightCount;
      if (leftIsSmall) this.buildHistogram(gh, small, leaf.start, l);
      else this.buildHistogram(gh, small, l, leaf.end);
      const parent = this.slots[leaf.slot]!;
      const smallHist = this.slots[small]!;
      const maxBins = this.p.maxBins;
      for (let k = 0; k < features.length; k++) {
        const base = features[k]! * maxBins * 2;
        const len = this.bins.binCounts[features[k]!]! * 2;
        for (let i = base; i < base + len; i++) parent[i]! -= smallHist[i]!;
      }
      leftSlot = leftIsSmall ? small : leaf.slot;
      rightSlot = leftIsSmall ? leaf.slot : small;
      // A child of one row cannot split: it keeps no histogram.
      if (leftCount < 2) leftSlot = this.giveSlot(leftSlot);
      if (rightCount < 2) rightSlot = this.giveSlot(rightSlot);
    } else {
      this.giveSlot(leaf.slot);
    }
    return [
      this.openLeaf(li, leaf.start, l, depth, gl, hl, leftSlot, features),
      this.openLeaf(ri, l, leaf.end, depth, gr, hr, rightSlot, features),
    ];
  }

  private takeSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    this.slots.push(new Float64Array(this.histStride));
    return this.slots.length - 1;
  }

  /** Returns a slot to the pool; always -1 (the caller's "no histogram"). */
  private giveSlot(slot: number): number {
    if (slot >= 0) this.freeSlots.push(slot);
    return -1;
  }

  /** Sums [g, h] per (feature, bin) over the rows idx[start..end) into histogram `slot`. */
  private buildHistogram(gh: Float64Array, slot: number, start: number, end: number): void {
    const hist = this.slots[slot]!;
    hist.fill(0);
    accumulateHistogram(hist, this.binned, this.cols, this.p.maxBins, gh, this.idx, start, end);
  }
}

/**
 * The trainer's inner loop: adds [g, h] of rows idx[start..end) to `hist`
 * (per feature `maxBins` [g, h] pairs). Row by row: the gradient pair is
 * loaded once and the row's bins are contiguous in the row-major matrix.
 * With feature subsampling the loop still runs over all features (cheaper
 * than an indirection per cell); unused features' cells are never read.
 * Exported so the training benchmark can time one pass as its baseline.
 */
export function accumulateHistogram(
  hist: Float64Array,
  binned: Uint8Array,
  cols: number,
  maxBins: number,
  gh: Float64Array,
  idx: Int32Array,
  start: number,
  end: number,
): void {
  const fStride = maxBins * 2;
  const width = cols * fStride;
  for (let i = start; i < end; i++) {
    const r = idx[i]!;
    const g = gh[2 * r]!;
    const h = gh[2 * r + 1]!;
    let o = r * cols;
    for (let h0 = 0; h0 < width; h0 += fStride) {
      const b = h0 + (binned[o++]! << 1);
      hist[b]! += g;
      hist[b + 1]! += h;
    }
  }
}

function newTree(capacity: number): GbdtTree {
  return {
    nodeCount: 0,
    feature: new Int32Array(capacity).fill(-1),
    thresholdBin: new Int32Array(capacity),
    threshold: new Float32Array(capacity),
    left: new Int32Array(capacity),
    right: new Int32Array(capacity),
    value: new Float32Array(capacity),
    gain: new Float64Array(capacity),
    cover: new Float64Array(capacity),
  };
}

function trimTree(t: GbdtTree): GbdtTree {
  const n = t.nodeCount;
  return {
    nodeCount: n,
    feature: t.feature.slice(0, n),
    thresholdBin: t.thresholdBin.slice(0, n),
    threshold: t.threshold.slice(0, n),
    left: t.left.slice(0, n),
    right: t.right.slice(0, n),
    value: t.value.slice(0, n),
    gain: t.gain.slice(0, n),
    cover: t.cover.slice(0, n),
  };
}
