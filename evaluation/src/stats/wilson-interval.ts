/**
 * Wilson score interval for a single rate (Wilson 1927; Newcombe 1998a,
 * method 3). Chosen over the Wald interval p +- z sqrt(p(1-p)/n) because
 * Wald collapses to a zero-width interval at 0/n and n/n and undercovers
 * badly for rates near 0, which is exactly where oversell rates live; Wilson
 * stays inside [0, 1] and keeps close to nominal coverage for small n.
 *
 *   centre    = (p + z^2/(2n)) / (1 + z^2/n)
 *   halfWidth = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/(4n^2))
 */

import { twoSidedCriticalValue } from './normal-distribution.js';
import type { Interval } from './rate-counts.js';
import { requireRateCounts } from './stats-input.js';

/** The default confidence of every interval in the reports. */
export const DEFAULT_CONFIDENCE = 0.95;

/**
 * The Wilson score interval of `successes / trials` at `confidence`.
 * `trials = 0` gives `{ estimate: NaN, lower: 0, upper: 1 }`: no data, no
 * information, rather than an exception for an empty segment.
 */
export function wilsonInterval(successes: number, trials: number, confidence = DEFAULT_CONFIDENCE): Interval {
  requireRateCounts(successes, trials, 'rate');
  return wilsonWithZ(successes, trials, twoSidedCriticalValue(confidence));
}

/** Wilson with a precomputed critical value; inputs already validated (the difference interval calls it twice). */
export function wilsonWithZ(successes: number, trials: number, z: number): Interval {
  if (trials === 0) return { estimate: Number.NaN, lower: 0, upper: 1 };
  const p = successes / trials;
  const z2n = (z * z) / trials;
  const denominator = 1 + z2n;
  const centre = (p + z2n / 2) / denominator;
  const halfWidth = (z / denominator) * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials));
  // At 0/n and n/n the formula's bound is exactly 0 (or 1) in real arithmetic;
  // pin it so rounding cannot put it a hair outside [0, 1] or away from p.
  const lower = successes === 0 ? 0 : Math.max(0, centre - halfWidth);
  const upper = successes === trials ? 1 : Math.min(1, centre + halfWidth);
  return { estimate: p, lower, upper };
}
