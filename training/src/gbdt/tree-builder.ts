/**
 * Grows one regression tree per boosting round on the binned matrix:
 *
 * - the builder owns an index array partitioned in place, so a leaf is a
 *   contiguous segment of row ids (stable: ids stay ascending in a segment,
 *   which keeps the matrix reads monotone);
 * - after a split only the smaller child's histogram is built, the larger
 *   one is the parent's minus it (HistogramPool.subtract);
 * - leaves grow best-gain first under the depth and leaf limits.
 */
import type { Prng } from '../simulator/prng.js';
import type { FeatureBins } from './feature-bins.js';
import type { GbdtTree } from './gbdt-model.js';
import type { GbdtParams } from './gbdt-params.js';
import { HistogramPool } from './histogram-pool.js';
import { findBestSplit, leafValue, type SplitCandidate } from './split-gain.js';

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

/** Which rows one tree is grown on. */
export interface SampledRows {
  /** Rows in the tree's sample (the first `count` entries of the builder's index array). */
  count: number;
  /** Rows left out of the sample (the first `outCount` entries of the builder's out array). */
  outCount: number;
}

/** Grows one tree at a time; holds every buffer so rounds allocate only the tree itself. */
export class TreeBuilder {
  private readonly idx: Int32Array;
  private readonly tmp: Int32Array;
  private readonly out: Int32Array;
  private readonly histograms: HistogramPool;
  /** Segments of the finished leaves of the last tree: [node, start, end] triples. */
  private leafSegments: number[] = [];

  constructor(
    private readonly binned: Uint8Array,
    private readonly rows: number,
    private readonly cols: number,
    private readonly bins: FeatureBins,
    private readonly p: GbdtParams,
    /** Relative gain margin under which two splits tie (findBestSplit); 0 = exact. */
    private readonly tieTolerance = 0,
  ) {
    this.idx = new Int32Array(rows);
    this.tmp = new Int32Array(rows);
    this.out = new Int32Array(rows);
    this.histograms = new HistogramPool(cols, p.maxBins);
  }

  /** Draws the next tree's rows (Bernoulli at `rate`); 1 takes every row without drawing. */
  sampleRows(rate: number, rng: Prng): SampledRows {
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

  /** Grows a tree on the sampled rows' gradient pairs `gh` ([g, h] per row), splitting on `features` only. */
  build(gh: Float64Array, sampled: SampledRows, features: Int32Array): GbdtTree {
    const p = this.p;
    const maxNodes = 2 * p.maxLeaves - 1;
    const t = newTree(Math.min(maxNodes, 2 ** (p.maxDepth + 1) - 1));
    this.histograms.reset();

    const rootSlot = this.histograms.take();
    this.histograms.build(rootSlot, this.binned, this.cols, gh, this.idx, 0, sampled.count);
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
  addLeafValues(tree: GbdtTree, raw: Float64Array, sampled: SampledRows): void {
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
        this.histograms.hist(slot),
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
        this.tieTolerance,
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
    const pool = this.histograms;
    let leftSlot = -1;
    let rightSlot = -1;
    if (depth < this.p.maxDepth && (leftCount >= 2 || rightCount >= 2)) {
      // Build the smaller child's histogram; the parent's slot becomes the larger child's by subtraction.
      const small = pool.take();
      const leftIsSmall = leftCount <= rightCount;
      if (leftIsSmall) pool.build(small, binned, cols, gh, idx, leaf.start, l);
      else pool.build(small, binned, cols, gh, idx, l, leaf.end);
      pool.subtract(leaf.slot, small, features, this.bins);
      leftSlot = leftIsSmall ? small : leaf.slot;
      rightSlot = leftIsSmall ? leaf.slot : small;
      // A child of one row cannot split: it keeps no histogram.
      if (leftCount < 2) leftSlot = pool.give(leftSlot);
      if (rightCount < 2) rightSlot = pool.give(rightSlot);
    } else {
      pool.give(leaf.slot);
    }
    return [
      this.openLeaf(li, leaf.start, l, depth, gl, hl, leftSlot, features),
      this.openLeaf(ri, l, leaf.end, depth, gr, hr, rightSlot, features),
    ];
  }
}

export function newTree(capacity: number): GbdtTree {
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

export function trimTree(t: GbdtTree): GbdtTree {
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
