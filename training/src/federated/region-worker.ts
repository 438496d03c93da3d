/**
 * The part of federated training that runs inside one region, next to that
 * region's rows: it bins them with the agreed edges, keeps their raw scores
 * and gradients, partitions them as the coordinator splits nodes, and
 * answers every request with an aggregate (counts, a node's histogram, a
 * sketch). The rows never leave this object: it holds them as
 * RegionPrivate and reads them with its own region name.
 *
 * Row sampling reproduces the pooled trainer's draws exactly: the pooled
 * table is the regions' rows concatenated in federation order, and the
 * pooled trainer draws one uniform per row in that order, so this region
 * skips the draws of the rows before it and after it (two counts the
 * coordinator sends).
 */
import { binMatrix, type FeatureBins } from '../gbdt/feature-bins.js';
import type { GbdtTree } from '../gbdt/gbdt-model.js';
import { accumulateHistogram } from '../gbdt/histogram-pool.js';
import { logLossGradients } from '../gbdt/log-loss.js';
import { addTreeBinned, ROW_SAMPLE_STREAM } from '../gbdt/train-gbdt.js';
import { Prng } from '../simulator/prng.js';
import { binsFromAggregate, regionSketch } from './quantile-sketch.js';
import { type Aggregate, aggregate, type RegionPrivate } from './region-data.js';

/** One region's training and validation rows (user-level: wrapped as RegionPrivate). */
export interface RegionRows {
  x: Float32Array;
  y: Uint8Array;
  rows: number;
  valid: { x: Float32Array; y: Uint8Array; rows: number };
}

interface Binned {
  bins: FeatureBins;
  train: Uint8Array;
  valid: Uint8Array;
  raw: Float64Array;
  validRaw: Float64Array;
  gh: Float64Array;
  idx: Int32Array;
  tmp: Int32Array;
  hist: Float64Array;
  rng: Prng;
}

export class RegionWorker {
  private state: Binned | null = null;
  private features = new Int32Array(0);
  /** Node -> [start, end) of its rows in idx, for the tree being grown. */
  private readonly segments = new Map<number, [number, number]>();

  constructor(
    readonly region: string,
    private readonly data: RegionPrivate<RegionRows>,
    private readonly cols: number,
    private readonly maxBins: number,
  ) {}

  private rows(): RegionRows {
    return this.data.read(this.region);
  }

  /** [training rows, positives, validation rows]. */
  counts(): Aggregate<'counts'> {
    const d = this.rows();
    let pos = 0;
    for (let r = 0; r < d.rows; r++) pos += d.y[r]!;
    return aggregate('counts', this.region, { values: Float64Array.from([d.rows, pos, d.valid.rows]) });
  }

  sketch(sampleRows: number): Aggregate<'sketch'> {
    const d = this.rows();
    return regionSketch(this.region, d.x, d.rows, this.cols, sampleRows);
  }

  /** Bins the rows with the agreed edges; `start.reals` = [baseScore], `start.ints` = [seed]. */
  start(edges: Aggregate<'bin-edges'>, start: Aggregate<'model'>): void {
    const d = this.rows();
    const bins = binsFromAggregate(edges);
    const base = start.body.reals![0]!;
    this.state = {
      bins,
      train: binMatrix(d.x, d.rows, this.cols, bins),
      valid: binMatrix(d.valid.x, d.valid.rows, this.cols, bins),
      raw: new Float64Array(d.rows).fill(base),
      validRaw: new Float64Array(d.valid.rows).fill(base),
      gh: new Float64Array(2 * d.rows),
      idx: new Int32Array(d.rows),
      tmp: new Int32Array(d.rows),
      hist: new Float64Array(this.cols * this.maxBins * 2),
      rng: new Prng(start.body.ints![0]!, ROW_SAMPLE_STREAM),
    };
  }

  private s(): Binned {
    if (this.state === null) throw new RangeError(`region ${this.region}: start() was not called`);
    return this.state;
  }

  /**
   * A new tree: gradients, this region's share of the row sample and the
   * features in use. `begin.ints` = [drawsBefore, drawsAfter, ...features],
   * `begin.reals` = [rowSubsample]. Returns [sampled rows, G, H].
   */
  beginTree(begin: Aggregate<'model'>): Aggregate<'counts'> {
    const s = this.s();
    const d = this.rows();
    const ints = begin.body.ints!;
    const rate = begin.body.reals![0]!;
    this.features = ints.slice(2);
    logLossGradients(s.raw, d.y, d.rows, s.gh);
    let c = 0;
    if (rate >= 1) {
      for (let r = 0; r < d.rows; r++) s.idx[c++] = r;
    } else {
      for (let i = 0; i < ints[0]!; i++) s.rng.float();
      for (let r = 0; r < d.rows; r++) if (s.rng.float() < rate) s.idx[c++] = r;
      for (let i = 0; i < ints[1]!; i++) s.rng.float();
    }
    let g = 0;
    let h = 0;
    for (let i = 0; i < c; i++) {
      const r = s.idx[i]!;
      g += s.gh[2 * r]!;
      h += s.gh[2 * r + 1]!;
    }
    this.segments.clear();
    this.segments.set(0, [0, c]);
    return aggregate('counts', this.region, { values: Float64Array.from([c, g, h]) });
  }

  /** The [g, h] histogram of `node`'s rows over the features in use, dense or sparse (whichever is smaller). */
  histogram(node: number): Aggregate<'histogram'> {
    const s = this.s();
    const seg = this.segment(node);
    s.hist.fill(0);
    accumulateHistogram(s.hist, s.train, this.cols, this.maxBins, s.gh, s.idx, seg[0], seg[1]);
    let len = 0;
    for (const f of this.features) len += s.bins.binCounts[f]! * 2;
    const dense = new Float64Array(len);
    let o = 0;
    let nnz = 0;
    for (const f of this.features) {
      const base = f * this.maxBins * 2;
      const n = s.bins.binCounts[f]! * 2;
      for (let i = 0; i < n; i += 2) {
        dense[o + i] = s.hist[base + i]!;
        dense[o + i + 1] = s.hist[base + i + 1]!;
        if (dense[o + i + 1] !== 0) nnz++;
      }
      o += n;
    }
    // Sparse: 4 bytes of index + 16 of [g, h] per non-empty bin, against 16 per bin dense.
    if (nnz * 20 >= len * 8) return aggregate('histogram', this.region, { node, dense });
    const index = new Uint32Array(nnz);
    const sparse = new Float64Array(2 * nnz);
    let k = 0;
    for (let i = 0; i < len; i += 2) {
      if (dense[i + 1] === 0) continue;
      index[k] = i >> 1;
      sparse[2 * k] = dense[i]!;
      sparse[2 * k + 1] = dense[i + 1]!;
      k++;
    }
    return aggregate('histogram', this.region, { node, index, sparse });
  }

  /** Partitions `node`'s rows; `split.ints` = [node, feature, bin, left, right]. Returns [left rows, right rows]. */
  split(split: Aggregate<'model'>): Aggregate<'counts'> {
    const s = this.s();
    const [node, f, bin, li, ri] = split.body.ints!;
    const [start, end] = this.segment(node!);
    let l = start;
    let rc = 0;
    for (let i = start; i < end; i++) {
      const r = s.idx[i]!;
      if (s.train[r * this.cols + f!]! <= bin!) s.idx[l++] = r;
      else s.tmp[rc++] = r;
    }
    s.idx.set(s.tmp.subarray(0, rc), l);
    this.segments.delete(node!);
    this.segments.set(li!, [start, l]);
    this.segments.set(ri!, [l, end]);
    return aggregate('counts', this.region, { values: Float64Array.from([l - start, end - l]) });
  }

  /** Adds a finished tree to the raw scores; returns [train loss sum, valid loss sum]. */
  applyTree(treeAgg: Aggregate<'model'>): Aggregate<'counts'> {
    const s = this.s();
    const d = this.rows();
    const tree = treeFromAggregate(treeAgg);
    addTreeBinned(tree, s.train, d.rows, this.cols, s.raw);
    addTreeBinned(tree, s.valid, d.valid.rows, this.cols, s.validRaw);
    return aggregate('counts', this.region, {
      values: Float64Array.from([lossSum(s.raw, d.y, d.rows), lossSum(s.validRaw, d.valid.y, d.valid.rows)]),
    });
  }

  private segment(node: number): [number, number] {
    const seg = this.segments.get(node);
    if (seg === undefined) throw new RangeError(`region ${this.region}: node ${node} has no rows segment`);
    return seg;
  }
}

/** What a region needs of a tree to score its rows: structure, split bins, leaf values. */
export function treeAggregate(source: string, t: GbdtTree): Aggregate<'model'> {
  const n = t.nodeCount;
  const ints = new Int32Array(1 + 4 * n);
  ints[0] = n;
  ints.set(t.feature, 1);
  ints.set(t.thresholdBin, 1 + n);
  ints.set(t.left, 1 + 2 * n);
  ints.set(t.right, 1 + 3 * n);
  return aggregate('model', source, { op: 'tree', ints, values: t.value.slice(0, n) });
}

function treeFromAggregate(a: Aggregate<'model'>): GbdtTree {
  const ints = a.body.ints!;
  const n = ints[0]!;
  return {
    nodeCount: n,
    feature: ints.slice(1, 1 + n),
    thresholdBin: ints.slice(1 + n, 1 + 2 * n),
    threshold: new Float32Array(n),
    left: ints.slice(1 + 2 * n, 1 + 3 * n),
    right: ints.slice(1 + 3 * n, 1 + 4 * n),
    value: a.body.values!,
    gain: new Float64Array(n),
    cover: new Float64Array(n),
  };
}

/** Sum of log losses (the same stable form as meanLogLossRaw, not divided). */
function lossSum(raw: Float64Array, y: Uint8Array, rows: number): number {
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    const f = raw[r]!;
    sum += Math.log1p(Math.exp(-Math.abs(f))) + Math.max(f, 0) - y[r]! * f;
  }
  return sum;
}
