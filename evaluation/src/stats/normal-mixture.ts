/**
 * The normal-mixture sequential probability ratio test (mSPRT; Robbins 1970,
 * Johari, Koomen, Pekelis and Walsh 2017 "Peeking at A/B tests", Johari,
 * Pekelis and Walsh 2022 "Always valid inference") and its confidence
 * sequence, for any estimate that is close to normal: thetaHat ~ N(theta, V)
 * with V shrinking as data arrive (a difference of rates, a CUPED-adjusted
 * difference of means).
 *
 * Instead of testing H0: theta = theta0 against one alternative, the
 * likelihood ratio is averaged over alternatives theta0 + delta with
 * delta ~ N(0, tau^2) (tau^2: the mixing variance). With d = thetaHat - theta0
 * the integral has a closed form:
 *
 *   Lambda = sqrt(V / (V + tau^2)) * exp(d^2 tau^2 / (2 V (V + tau^2)))
 *
 * Under H0, Lambda over time is a non-negative martingale with mean 1, so by
 * Ville's inequality P(Lambda ever >= 1/alpha) <= alpha: the test may be
 * checked after every observation, forever, and still rejects a true null
 * with probability at most alpha. The always-valid p-value is the running
 * minimum of 1/Lambda; the confidence sequence is every theta0 not rejected:
 *
 *   |thetaHat - theta0| < sqrt(2 V (V + tau^2) / tau^2 * (ln(1/alpha) + ln((V + tau^2) / V) / 2))
 *
 * One-sided (alternatives theta > theta0 only, e.g. "treatment oversells
 * more"): mixing over a half-normal delta > 0 instead gives
 *
 *   Lambda+ = 2 Phi(u) * sqrt(V / (V + tau^2)) * exp(u^2 / 2),  u = d tau / sqrt(V (V + tau^2))
 *
 * which for theta <= theta0 is a non-negative supermartingale (each
 * component's expectation is exp(delta (theta - theta0) / V) <= 1), so the
 * same Ville bound holds for the composite null theta <= theta0, and the
 * evidence spent on the direction nobody asked about is not wasted.
 * Lambda+ increases with d (d/du of Phi(u) exp(u^2/2) is exp(u^2/2) (phi(u) +
 * u Phi(u)) > 0), so the lower confidence bound is the unique root below.
 *
 * Exact for normal data of known variance; with a plug-in variance (binomial
 * rates) it is valid as the normal approximation is, which is why callers
 * wait for a minimum sample (see the simulation tests).
 */
import { AtpError } from '@mercato/platform/errors';
import { EVALUATION_ERR } from '../evaluation-errors.js';
import { logNormalCdf, logNormalDensity } from './normal-distribution.js';
import { requireFinite, requireOpenUnit, requirePositive } from './stats-input.js';

/** A one-sided bound at alpha >= 1/2 would sit above the estimate itself: no one means that. */
const MAX_ONE_SIDED_ALPHA = 0.5;
/** Relative precision of the one-sided bound's root in u (a z-like scale): far below any reported digit. */
const ROOT_TOLERANCE = 1e-12;
/** Safeguarded Newton needs about 5 steps; the cap only guards against a pathological input. */
const ROOT_MAX_STEPS = 100;
/** Fixed-point steps for the tuned mixing ratio; the map contracts by 1/(1+r) < 0.2 per step. */
const TUNING_ITERATIONS = 50;

/** ln Lambda of the two-sided normal mixture at this check (0 means no evidence either way). */
export function mixtureLogLikelihoodRatio(
  estimate: number,
  variance: number,
  nullValue: number,
  mixingVariance: number,
): number {
  requireMixtureInputs(estimate, variance, mixingVariance);
  requireFinite(nullValue, 'nullValue');
  const d = estimate - nullValue;
  const total = variance + mixingVariance;
  return 0.5 * Math.log(variance / total) + (d * d * mixingVariance) / (2 * variance * total);
}

/**
 * Half-width of the two-sided (1 - alpha) confidence sequence at this check:
 * `estimate +- halfWidth` holds theta at every check at once with
 * probability >= 1 - alpha.
 */
export function mixtureHalfWidth(variance: number, mixingVariance: number, alpha: number): number {
  requireMixtureInputs(0, variance, mixingVariance);
  requireOpenUnit(alpha, 'alpha');
  const total = variance + mixingVariance;
  const logThreshold = -Math.log(alpha) + 0.5 * Math.log(total / variance);
  return Math.sqrt(((2 * variance * total) / mixingVariance) * logThreshold);
}

/** ln Lambda+ of the one-sided (theta > nullValue) half-normal mixture at this check. */
export function oneSidedMixtureLogLikelihoodRatio(
  estimate: number,
  variance: number,
  nullValue: number,
  mixingVariance: number,
): number {
  requireMixtureInputs(estimate, variance, mixingVariance);
  requireFinite(nullValue, 'nullValue');
  const total = variance + mixingVariance;
  const u = ((estimate - nullValue) * Math.sqrt(mixingVariance)) / Math.sqrt(variance * total);
  return Math.LN2 + 0.5 * Math.log(variance / total) + (u * u) / 2 + logNormalCdf(u);
}

/**
 * Lower bound of the one-sided (1 - alpha) confidence sequence: theta >=
 * bound at every check at once with probability >= 1 - alpha. It is the
 * nullValue at which ln Lambda+ equals ln(1/alpha).
 */
export function oneSidedMixtureLowerBound(
  estimate: number,
  variance: number,
  mixingVariance: number,
  alpha: number,
): number {
  requireMixtureInputs(estimate, variance, mixingVariance);
  requireOpenUnit(alpha, 'alpha');
  if (alpha >= MAX_ONE_SIDED_ALPHA) {
    throw new AtpError(
      EVALUATION_ERR.INVALID_PARAMETER,
      `alpha must be < ${MAX_ONE_SIDED_ALPHA}, got ${alpha}`,
      'alpha',
    );
  }
  const total = variance + mixingVariance;
  // Solve h(u) = ln Phi(u) + u^2/2 = ln target for u; since ln(1/2) + u^2/2 <=
  // h(u) <= u^2/2 for u >= 0, the root lies in [sqrt(2 ln T), sqrt(2 ln 2T)].
  // h is increasing there with h' = phi/Phi + u > 0: Newton from the upper end,
  // kept inside the bracket, converges in a handful of steps.
  const logTarget = -Math.log(2 * alpha) + 0.5 * Math.log(total / variance);
  let lo = Math.sqrt(2 * Math.max(0, logTarget));
  let hi = Math.sqrt(2 * (Math.max(0, logTarget) + Math.LN2));
  let u = hi;
  for (let i = 0; i < ROOT_MAX_STEPS; i++) {
    const logCdf = logNormalCdf(u);
    const excess = logCdf + (u * u) / 2 - logTarget;
    if (excess > 0) hi = u;
    else lo = u;
    const slope = Math.exp(logNormalDensity(u) - logCdf) + u;
    const newton = u - excess / slope;
    const next = newton >= lo && newton <= hi ? newton : (lo + hi) / 2;
    const step = Math.abs(next - u);
    u = next;
    if (step <= ROOT_TOLERANCE * u) break;
  }
  const scale = Math.sqrt(variance * total) / Math.sqrt(mixingVariance);
  return estimate - u * scale;
}

/**
 * The mixing variance that makes the two-sided confidence sequence narrowest
 * when the estimate's variance has shrunk to `varianceAtHorizon` (the planned
 * sample size): tau^2 = r V with r = 2 ln(1/alpha) + ln(1 + r), which
 * minimises the half-width over tau^2 at that V (about 8.2 V at alpha 0.05).
 */
export function mixingVarianceForHorizon(varianceAtHorizon: number, alpha: number): number {
  requirePositive(varianceAtHorizon, 'varianceAtHorizon');
  requireOpenUnit(alpha, 'alpha');
  const twiceLogInverseAlpha = -2 * Math.log(alpha);
  let ratio = twiceLogInverseAlpha;
  for (let i = 0; i < TUNING_ITERATIONS; i++) ratio = twiceLogInverseAlpha + Math.log1p(ratio);
  return ratio * varianceAtHorizon;
}

/** The estimate finite, both variances finite and > 0 (a zero variance would make any difference infinitely significant). */
function requireMixtureInputs(estimate: number, variance: number, mixingVariance: number): void {
  requireFinite(estimate, 'estimate');
  requirePositive(variance, 'variance');
  requirePositive(mixingVariance, 'mixingVariance');
}
