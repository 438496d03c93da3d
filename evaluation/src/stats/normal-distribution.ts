/**
 * The standard normal CDF and quantile, from stdlib (@stdlib/stats-base-dists-
 * normal-*: maintained, typed, accurate to double precision in the tails),
 * wrapped once so the rest of the statistics never repeat `(x, 0, 1)` and a
 * change of library touches one file; plus the log CDF and log density the
 * one-sided mixture needs far in the tail, where Phi itself underflows.
 */
import normalCdfOf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantileOf from '@stdlib/stats-base-dists-normal-quantile';
import { requireOpenUnit } from './stats-input.js';

/** Bound once: the factory skips the mean and scale checks on every call. */
const standardCdf = normalCdfOf.factory(0, 1);
const standardQuantile = normalQuantileOf.factory(0, 1);

/** P(Z <= z) for a standard normal Z. */
export function normalCdf(z: number): number {
  return standardCdf(z);
}

/** The z with P(Z <= z) = p; p in (0, 1). */
export function normalQuantile(p: number): number {
  return standardQuantile(p);
}

/**
 * The critical value of a two-sided interval: z with P(|Z| <= z) = confidence
 * (1.959964 for 95%). Validates `confidence` since every interval passes its
 * caller's value straight through.
 */
export function twoSidedCriticalValue(confidence: number, field = 'confidence'): number {
  requireOpenUnit(confidence, field);
  return standardQuantile(0.5 + confidence / 2);
}

/** Below this z the CDF is computed from its asymptotic series: Phi(z) itself underflows near z = -38. */
const LOG_CDF_ASYMPTOTIC_BELOW = -30;
const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/** ln P(Z <= z), finite far into the lower tail (a strongly negative effect must not become ln 0 = -Infinity). */
export function logNormalCdf(z: number): number {
  if (z > LOG_CDF_ASYMPTOTIC_BELOW) return Math.log(standardCdf(z));
  // Mills ratio: Phi(z) ~ phi(z) / |z| * (1 - 1/z^2 + 3/z^4); at |z| >= 30 the
  // next term is below 1e-7 of the value.
  const z2 = z * z;
  return -z2 / 2 - HALF_LOG_TWO_PI - Math.log(-z) + Math.log1p(-1 / z2 + 3 / (z2 * z2));
}

/** ln of the standard normal density at z. */
export function logNormalDensity(z: number): number {
  return -(z * z) / 2 - HALF_LOG_TWO_PI;
}
