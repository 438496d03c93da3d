/**
 * Interval for the ratio of two independent rates, treatment / control (the
 * relative risk), by the Katz log method (Katz, Baptista, Azen and Pike
 * 1978): ln(RR) is close to normal with
 *
 *   SE(ln RR) = sqrt(1/xT - 1/nT + 1/xC - 1/nC)
 *
 * and the interval is exp(ln RR +- z SE). It is what most packages print for
 * a relative risk (epitools, Stata `cs`), which keeps the report comparable.
 *
 * A zero count has no logarithm: then 0.5 is added to each cell of the 2x2
 * table (Haldane-Anscombe: x + 0.5 events out of n + 1 in both arms), the
 * estimate is that of the corrected table and `corrected` says so.
 */
import { twoSidedCriticalValue } from './normal-distribution.js';
import type { Interval, RateCounts } from './rate-counts.js';
import { requireRateCounts } from './stats-input.js';
import { DEFAULT_CONFIDENCE } from './wilson-interval.js';

/** What the Haldane-Anscombe correction adds to each cell of the 2x2 table. */
const ZERO_CELL_CORRECTION = 0.5;

/** A rate ratio with its interval. */
export interface RatioInterval extends Interval {
  /** True when a zero event count forced the 0.5-per-cell correction. */
  corrected: boolean;
}

/**
 * The ratio `treatment rate / control rate` with its Katz log interval. An
 * arm without trials leaves it undefined: `{ NaN, 0, Infinity }`.
 */
export function rateRatioInterval(
  treatment: RateCounts,
  control: RateCounts,
  confidence = DEFAULT_CONFIDENCE,
): RatioInterval {
  requireRateCounts(treatment.successes, treatment.trials, 'treatment');
  requireRateCounts(control.successes, control.trials, 'control');
  const z = twoSidedCriticalValue(confidence);
  if (treatment.trials === 0 || control.trials === 0) {
    return { estimate: Number.NaN, lower: 0, upper: Number.POSITIVE_INFINITY, corrected: false };
  }
  const corrected = treatment.successes === 0 || control.successes === 0;
  const add = corrected ? ZERO_CELL_CORRECTION : 0;
  const xT = treatment.successes + add;
  const nT = treatment.trials + 2 * add;
  const xC = control.successes + add;
  const nC = control.trials + 2 * add;
  const logRatio = Math.log(xT / nT) - Math.log(xC / nC);
  const se = Math.sqrt(1 / xT - 1 / nT + 1 / xC - 1 / nC);
  return {
    estimate: Math.exp(logRatio),
    lower: Math.exp(logRatio - z * se),
    upper: Math.exp(logRatio + z * se),
    corrected,
  };
}
