/**
 * Population stability index (PSI) of a window of live values against a
 * baseline histogram, and the alarm threshold that makes it usable on
 * windows of any size.
 *
 * Why a threshold that depends on the window: under no drift, PSI (the
 * symmetric KL divergence of the two histograms) is about X^2 / n, where X^2
 * is Pearson's chi-square statistic with (bins - 1) degrees of freedom and n
 * the window's row count. Its mean is therefore about (bins - 1) / n: 0.18
 * on a window of 50 rows over 10 bins, so the folklore "PSI > 0.1 is drift"
 * fires most of the time on small windows of identical data. The alarm here
 * needs both: PSI above the chi-square quantile / n at a family-wise false
 * alarm rate (Bonferroni over the features read in one window), and above a
 * materiality floor, so a large window does not alarm on a shift too small
 * to matter.
 */
import chisquareQuantile from '@stdlib/stats-base-dists-chisquare-quantile';

/** Conventional "moderate shift" level; the floor under the statistical threshold. */
export const PSI_MATERIALITY = 0.1;
/** Family-wise false-alarm probability per window, across all features compared in it. */
export const PSI_WINDOW_ALPHA = 0.001;
/**
 * Baseline shares below this are read as this: a bin the training data never
 * filled would otherwise make any live value an infinite PSI.
 */
const MIN_EXPECTED_SHARE = 1e-4;
/** Additive (Jeffreys) smoothing of the live counts: an empty live bin is not ln 0. */
const LIVE_PSEUDO_COUNT = 0.5;

/**
 * PSI of live `counts` (one per bin, `total` their sum) against baseline
 * `shares` (same bins). Returns 0 for an empty window.
 */
export function psi(shares: ArrayLike<number>, counts: ArrayLike<number>, total: number): number {
  const bins = shares.length;
  if (total <= 0 || bins < 2) return 0;
  const denom = total + LIVE_PSEUDO_COUNT * bins;
  let sum = 0;
  for (let b = 0; b < bins; b++) {
    const expected = Math.max(shares[b]!, MIN_EXPECTED_SHARE);
    const actual = (counts[b]! + LIVE_PSEUDO_COUNT) / denom;
    sum += (actual - expected) * Math.log(actual / expected);
  }
  return sum;
}

export interface PsiThresholdOptions {
  /** Features compared in the same window (the Bonferroni divisor); default 1. */
  comparisons?: number;
  /** Family-wise false-alarm probability per window; default PSI_WINDOW_ALPHA. */
  alpha?: number;
  /** Floor under the statistical threshold; default PSI_MATERIALITY. */
  materiality?: number;
}

/**
 * The PSI above which a window of `rows` values over `bins` bins is drift:
 * max(materiality, chi2_{1 - alpha / comparisons}(bins - 1) / rows).
 * Infinity when the window is empty or has a single bin (nothing to compare).
 */
export function psiAlarmThreshold(bins: number, rows: number, opts: PsiThresholdOptions = {}): number {
  if (rows <= 0 || bins < 2) return Number.POSITIVE_INFINITY;
  const comparisons = Math.max(1, opts.comparisons ?? 1);
  const alpha = opts.alpha ?? PSI_WINDOW_ALPHA;
  const materiality = opts.materiality ?? PSI_MATERIALITY;
  const statistical = chisquareQuantile(1 - alpha / comparisons, bins - 1) / rows;
  return Math.max(materiality, statistical);
}

/**
 * Index of the bin of `v` over `edges` (ascending, bins = edges.length - 1):
 * bin i holds edges[i] < v <= edges[i + 1], the first also the minimum and
 * anything below it, the last anything above (the baseline's convention, see
 * training's drift-baseline.ts). NaN goes to the first bin. Binary search.
 */
export function binOf(edges: Float64Array, v: number): number {
  let lo = 0;
  let hi = edges.length - 2;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v > edges[mid + 1]!) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
