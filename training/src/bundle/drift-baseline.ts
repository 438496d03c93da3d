/**
 * Per-feature drift baselines for the manifest: the share of training rows
 * in each of a few quantile bins, which the sidecar compares with live
 * traffic (PSI). Edges are float32 data values; the outer edges stand in for
 * -inf / +inf (JSON has no infinities), so every live value falls in a bin.
 */
import type { DriftHistogram } from '@mercato/proto/v1/model-manifest';

/** Quantile bins per feature: PSI is usually read over ten. */
export const DRIFT_BINS = 10;
/** Stand-ins for the open outer edges: the float32 range. */
export const DRIFT_EDGE_MIN = -3.4028234663852886e38;
export const DRIFT_EDGE_MAX = 3.4028234663852886e38;
/** At most this many rows (an even stride) are read per feature. */
export const DRIFT_SAMPLE_ROWS = 200_000;

/**
 * Histograms of every feature of a row-major float32 matrix. Bin i holds
 * values v with edges[i] < v <= edges[i+1] (the first bin also holds the
 * minimum edge). A feature with few distinct values gets fewer bins.
 */
export function driftBaseline(
  x: Float32Array,
  rows: number,
  names: readonly string[],
  bins = DRIFT_BINS,
): Record<string, DriftHistogram> {
  const cols = names.length;
  const stride = Math.max(1, Math.ceil(rows / DRIFT_SAMPLE_ROWS));
  const n = Math.ceil(rows / stride);
  const v = new Float32Array(n);
  const out: Record<string, DriftHistogram> = {};
  for (let f = 0; f < cols; f++) {
    let m = 0;
    for (let r = 0; r < rows; r += stride) v[m++] = x[r * cols + f]!;
    const sorted = v.subarray(0, m).sort();
    const inner: number[] = [];
    for (let k = 1; k < bins; k++) {
      const q = sorted[Math.min(m - 1, Math.floor((k * m) / bins))]!;
      // Cut at a data value so "<= edge" is exact; skip repeats (heavy values).
      if (q < sorted[m - 1]! && (inner.length === 0 || q > inner[inner.length - 1]!)) inner.push(q);
    }
    const edges = [DRIFT_EDGE_MIN, ...inner, DRIFT_EDGE_MAX];
    const counts = new Float64Array(edges.length - 1);
    for (let i = 0; i < m; i++) {
      const val = sorted[i]!;
      let b = 0;
      while (b < inner.length && val > inner[b]!) b++;
      counts[b]! += 1;
    }
    out[names[f]!] = { edges, shares: Array.from(counts, (c) => roundShare(c / m)) };
  }
  return out;
}

/** Shares rounded to 6 decimals: the manifest stays small and reads well; PSI needs no more. */
function roundShare(s: number): number {
  return Math.round(s * 1e6) / 1e6;
}
