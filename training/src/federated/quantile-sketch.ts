/**
 * Agreeing on bin edges without moving rows: each region summarises every
 * feature as weighted points (value, rows at or below it since the previous
 * point); the coordinator merges the points of all regions and places
 * equal-weight cuts with the trainer's own rule (weightedQuantileEdges). A
 * feature with few distinct values is sent exactly (every value, its count),
 * (values held by fewer than MIN_POINT_ROWS rows excepted: their rows are
 * counted at the next value); a long-tailed feature is compressed to
 * SKETCH_POINTS points, far more than the bins cut from them.
 */
import type { FeatureBins } from '../gbdt/feature-bins.js';
import { weightedQuantileEdges } from '../gbdt/feature-bins.js';
import { type Aggregate, aggregate } from './region-data.js';

/** Points per feature in one region's sketch (8 per bin at 255 bins). */
export const SKETCH_POINTS = 2_048;
/** A sketch point stands for at least this many rows, and no value held by fewer rows is sent exactly. */
export const MIN_POINT_ROWS = 5;

/** One region's sketch of `rows` row-major float32 rows (read in-region), up to `sampleRows` at an even stride. */
export function regionSketch(
  region: string,
  x: Float32Array,
  rows: number,
  cols: number,
  sampleRows: number,
): Aggregate<'sketch'> {
  const stride = Math.max(1, Math.ceil(rows / Math.max(1, sampleRows)));
  const buf = new Float32Array(Math.ceil(rows / stride));
  const offsets = new Int32Array(cols + 1);
  const values: number[] = [];
  const weights: number[] = [];
  for (let f = 0; f < cols; f++) {
    let m = 0;
    for (let r = 0; r < rows; r += stride) {
      const v = x[r * cols + f]!;
      if (!Number.isNaN(v)) buf[m++] = v;
    }
    const sorted = buf.subarray(0, m).sort();
    const dv: number[] = [];
    const dc: number[] = [];
    for (let i = 0; i < m; i++) {
      const v = sorted[i]!;
      if (dv.length > 0 && dv[dv.length - 1] === v) dc[dc.length - 1]! += 1;
      else {
        dv.push(v);
        dc.push(1);
      }
    }
    const pv: number[] = [];
    const pw: number[] = [];
    if (dv.length <= SKETCH_POINTS) {
      // Exact, but a value held by fewer than MIN_POINT_ROWS rows is never sent: its rows count toward
      // the next value that is (or the last sent one), so a rare (planted) value cannot cross.
      let pending = 0;
      for (let i = 0; i < dv.length; i++) {
        pending += dc[i]!;
        if (dc[i]! >= MIN_POINT_ROWS) {
          pv.push(dv[i]!);
          pw.push(pending);
          pending = 0;
        }
      }
      if (pending > 0 && pw.length > 0) pw[pw.length - 1]! += pending;
    } else {
      // A point at every m / SKETCH_POINTS rows; its weight is the rows since the previous point. The
      // maximum is never sent on its own (it is never an edge): the tail's rows go to the last point.
      let cum = 0;
      let emitted = 0;
      let next = 1;
      for (let i = 0; i < dv.length - 1; i++) {
        cum += dc[i]!;
        if (cum * SKETCH_POINTS >= next * m && cum - emitted >= MIN_POINT_ROWS) {
          pv.push(dv[i]!);
          pw.push(cum - emitted);
          emitted = cum;
          while (next * m <= cum * SKETCH_POINTS) next++;
        }
      }
      if (pw.length > 0) pw[pw.length - 1]! += m - emitted;
    }
    values.push(...pv);
    weights.push(...pw);
    offsets[f + 1] = values.length;
  }
  return aggregate('sketch', region, {
    offsets,
    values: Float32Array.from(values),
    weights: Float64Array.from(weights),
  });
}

/** Merges the regions' sketches into the agreed bin edges (at most `maxBins` bins per feature). */
export function mergeSketches(
  sketches: readonly Aggregate<'sketch'>[],
  cols: number,
  maxBins: number,
): FeatureBins {
  const edges: Float32Array[] = [];
  const binCounts = new Int32Array(cols);
  for (let f = 0; f < cols; f++) {
    const pts: [number, number][] = [];
    for (const s of sketches) {
      const { offsets, values, weights } = s.body;
      for (let i = offsets![f]!; i < offsets![f + 1]!; i++) pts.push([values![i]!, weights![i]!]);
    }
    pts.sort((a, b) => a[0] - b[0]);
    const distinct: number[] = [];
    const counts: number[] = [];
    for (const [v, w] of pts) {
      if (distinct.length > 0 && distinct[distinct.length - 1] === v) counts[counts.length - 1]! += w;
      else {
        distinct.push(v);
        counts.push(w);
      }
    }
    const e = weightedQuantileEdges(distinct, counts, maxBins);
    edges.push(e);
    binCounts[f] = e.length + 1;
  }
  return { edges, binCounts };
}

/** Bin edges as an aggregate (the coordinator sends them to every region). */
export function binEdgesAggregate(source: string, bins: FeatureBins): Aggregate<'bin-edges'> {
  const offsets = new Int32Array(bins.edges.length + 1);
  bins.edges.forEach((e, f) => {
    offsets[f + 1] = offsets[f]! + e.length;
  });
  const edges = new Float32Array(offsets[bins.edges.length]!);
  bins.edges.forEach((e, f) => {
    edges.set(e, offsets[f]!);
  });
  return aggregate('bin-edges', source, { offsets, edges });
}

export function binsFromAggregate(a: Aggregate<'bin-edges'>): FeatureBins {
  const { offsets, edges } = a.body;
  const cols = offsets!.length - 1;
  const out: Float32Array[] = [];
  const binCounts = new Int32Array(cols);
  for (let f = 0; f < cols; f++) {
    out.push(edges!.slice(offsets![f]!, offsets![f + 1]!));
    binCounts[f] = out[f]!.length + 1;
  }
  return { edges: out, binCounts };
}
