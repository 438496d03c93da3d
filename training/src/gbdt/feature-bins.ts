/**
 * Quantile binning of float32 features into at most 256 bins, and the binned
 * matrix the trainer reads: Uint8, row-major like the float input (row r
 * occupies [r * cols, (r + 1) * cols)). Row-major because the histogram loop
 * reads all features of a row once it has loaded the row's gradient pair; on
 * this machine that measured about twice as fast as one pass per column.
 *
 * A bin edge is always a float32 value seen in the data, and a value x falls
 * in the first bin b with x <= edges[b] (the last bin takes the rest). So the
 * split "bin <= b" is exactly "x <= edges[b]" on float32 inputs: the same
 * comparison ONNX's BRANCH_LEQ makes with a float32 threshold, with no
 * rounding anywhere (see onnx/export-gbdt-onnx.ts).
 */

export interface FeatureBins {
  /** Per feature, ascending float32 upper edges of every bin but the last (length = bins - 1). */
  edges: Float32Array[];
  /** Per feature, number of bins (edges.length + 1). */
  binCounts: Int32Array;
}

/**
 * Places bin edges from up to `sampleRows` rows taken at an even stride
 * (deterministic, no random draw). A feature with at most `maxBins` distinct
 * values gets one bin per value; otherwise cuts fall at equal-count quantiles,
 * and a heavy value (say, 0) keeps a bin to itself.
 */
export function computeFeatureBins(
  x: Float32Array,
  rows: number,
  cols: number,
  maxBins: number,
  sampleRows: number,
): FeatureBins {
  const stride = Math.max(1, Math.ceil(rows / Math.max(1, sampleRows)));
  const n = Math.ceil(rows / stride);
  const values = new Float32Array(n);
  const edges: Float32Array[] = [];
  const binCounts = new Int32Array(cols);
  for (let f = 0; f < cols; f++) {
    let m = 0;
    for (let r = 0; r < rows; r += stride) {
      const v = x[r * cols + f]!;
      if (!Number.isNaN(v)) values[m++] = v;
    }
    const sorted = values.subarray(0, m).sort();
    const e = quantileEdges(sorted, maxBins);
    edges.push(e);
    binCounts[f] = e.length + 1;
  }
  return { edges, binCounts };
}

function quantileEdges(sorted: Float32Array, maxBins: number): Float32Array {
  const m = sorted.length;
  // Distinct values and their counts.
  const distinct: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < m; i++) {
    const v = sorted[i]!;
    if (distinct.length > 0 && distinct[distinct.length - 1] === v) counts[counts.length - 1]! += 1;
    else {
      distinct.push(v);
      counts.push(1);
    }
  }
  return weightedQuantileEdges(distinct, counts, maxBins);
}

/**
 * Bin edges from ascending distinct values and their weights (row counts):
 * one bin per value when there are at most `maxBins`, else cuts at
 * equal-weight quantiles. The federated trainer calls it on merged regional
 * sketches; computeFeatureBins on one table's exact counts.
 */
export function weightedQuantileEdges(
  distinct: ArrayLike<number>,
  counts: ArrayLike<number>,
  maxBins: number,
): Float32Array {
  const d = distinct.length;
  let m = 0;
  for (let i = 0; i < d; i++) m += counts[i]!;
  if (d <= 1) return new Float32Array(0);
  if (d <= maxBins) return Float32Array.from(Array.prototype.slice.call(distinct, 0, d - 1) as number[]);
  const out: number[] = [];
  let cum = 0;
  let next = 1;
  for (let i = 0; i < d - 1 && out.length < maxBins - 1; i++) {
    cum += counts[i]!;
    // Cut after value i once the cumulative count reaches the next quantile (a heavy value may pass several).
    if (cum >= (next * m) / maxBins) {
      out.push(distinct[i]!);
      while (next * m <= cum * maxBins) next++;
    }
  }
  return Float32Array.from(out);
}

/** The bin of one float32 value: the number of edges strictly below it (NaN goes to the last bin). */
export function binOf(edges: Float32Array, v: number): number {
  if (Number.isNaN(v)) return edges.length;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bins a row-major float32 matrix into a row-major Uint8 matrix of the same shape. */
export function binMatrix(x: Float32Array, rows: number, cols: number, bins: FeatureBins): Uint8Array {
  const out = new Uint8Array(rows * cols);
  for (let f = 0; f < cols; f++) {
    const e = bins.edges[f]!;
    for (let i = f; i < rows * cols; i += cols) out[i] = binOf(e, x[i]!);
  }
  return out;
}
