/**
 * Interval for the difference of two independent rates, treatment - control,
 * by Newcombe's hybrid score method (Newcombe 1998b, "Interval estimation for
 * the difference between independent proportions: comparison of eleven
 * methods", method 10). Each arm gets its Wilson interval (l, u) around its
 * rate p, and the two half-widths are combined on each side separately:
 *
 *   lower = d - sqrt((pT - lT)^2 + (uC - pC)^2)
 *   upper = d + sqrt((uT - pT)^2 + (pC - lC)^2)      with d = pT - pC
 *
 * Why this one: it is closed form (no iteration, unlike Miettinen-Nurminen),
 * stays inside [-1, 1], has near-nominal coverage for rates close to 0 (the
 * oversell rates we compare), and does not degenerate when an arm has 0
 * events, where the Wald difference interval has zero width.
 */
import { twoSidedCriticalValue } from './normal-distribution.js';
import type { Interval, RateCounts } from './rate-counts.js';
import { requireRateCounts } from './stats-input.js';
import { DEFAULT_CONFIDENCE, wilsonWithZ } from './wilson-interval.js';

/**
 * The difference `treatment rate - control rate` with its Newcombe interval.
 * An arm without trials leaves the difference undefined: `{ NaN, -1, 1 }`.
 */
export function rateDifferenceInterval(
  treatment: RateCounts,
  control: RateCounts,
  confidence = DEFAULT_CONFIDENCE,
): Interval {
  requireRateCounts(treatment.successes, treatment.trials, 'treatment');
  requireRateCounts(control.successes, control.trials, 'control');
  const z = twoSidedCriticalValue(confidence);
  if (treatment.trials === 0 || control.trials === 0) return { estimate: Number.NaN, lower: -1, upper: 1 };
  const t = wilsonWithZ(treatment.successes, treatment.trials, z);
  const c = wilsonWithZ(control.successes, control.trials, z);
  const d = t.estimate - c.estimate;
  const below = Math.hypot(t.estimate - t.lower, c.upper - c.estimate);
  const above = Math.hypot(t.upper - t.estimate, c.estimate - c.lower);
  return { estimate: d, lower: Math.max(-1, d - below), upper: Math.min(1, d + above) };
}
