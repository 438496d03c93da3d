/**
 * Always-valid test and confidence sequence for the difference of two rates,
 * treatment - control, for a running experiment that people (and the
 * guardrail) look at after every batch of outcomes. A fixed-horizon z-test
 * read at every look rejects a true null far more often than its alpha (the
 * simulation test shows how much); this one does not, at any number of looks.
 *
 * It is the normal-mixture mSPRT (normal-mixture.ts) applied to
 * thetaHat = pT - pC with the plug-in variance pT(1-pT)/nT + pC(1-pC)/nC, as
 * in Johari et al. 2017 for two Bernoulli streams. The rates inside the
 * variance are shrunk by VARIANCE_PSEUDO_COUNT so an arm with 0 events so
 * far does not claim zero variance (which would make any single event look
 * infinitely significant); the shrinkage vanishes as n grows.
 *
 * The caller keeps the previous result and passes it back: the p-value is
 * the running minimum and the confidence sequence the running intersection,
 * which is what "always valid" is about.
 */
import { mixtureHalfWidth, mixtureLogLikelihoodRatio } from './normal-mixture.js';
import type { RateCounts } from './rate-counts.js';
import { requireFinite, requireOpenUnit, requirePositive, requireRateCounts } from './stats-input.js';

/** The false-positive rate over the whole life of the experiment, however often it is checked. */
export const DEFAULT_SEQUENTIAL_ALPHA = 0.05;
/**
 * tau^2 on the rate-difference scale: mixing effects of about one percentage
 * point (tau = 0.01), the size that matters for oversell and promise rates.
 * A larger tau detects big effects sooner and small ones later; use
 * mixingVarianceForHorizon() to tune it to a planned sample size.
 */
export const DEFAULT_MIXING_VARIANCE = 1e-4;
/** Pseudo-events added to each arm's events and non-events when estimating the variance only. */
export const VARIANCE_PSEUDO_COUNT = 0.5;

/** The running test's tuning; every field optional. */
export interface SequentialOptions {
  /** Default DEFAULT_SEQUENTIAL_ALPHA. */
  alpha?: number;
  /** tau^2, default DEFAULT_MIXING_VARIANCE. */
  mixingVariance?: number;
  /** The difference under H0, default 0. */
  nullDifference?: number;
}

/** One check's evidence, combined with the previous checks' (running minimum p, intersected sequence). */
export interface SequentialTestResult {
  treatmentRate: number;
  controlRate: number;
  /** treatmentRate - controlRate; NaN while an arm has no trials. */
  difference: number;
  /** Plug-in variance of the difference at this check; NaN while an arm has no trials. */
  variance: number;
  /** ln Lambda at this check against nullDifference (0 while an arm has no trials). */
  logLikelihoodRatio: number;
  /** Always-valid p-value: min over this and all previous checks of 1 / Lambda, capped at 1. */
  pValue: number;
  /** Confidence sequence at 1 - alpha, intersected with every previous check's (clamped to [-1, 1]). */
  lower: number;
  upper: number;
  /** pValue <= alpha: the difference is not nullDifference. Once true, stays true. */
  rejected: boolean;
  /** How many checks this result summarises (previous.checks + 1). */
  checks: number;
}

/**
 * One check of the running test: the evidence at these cumulative counts,
 * combined with `previous` (the result of the last check, if any).
 */
export function twoProportionMsprt(
  treatment: RateCounts,
  control: RateCounts,
  options: SequentialOptions = {},
  previous?: SequentialTestResult,
): SequentialTestResult {
  requireRateCounts(treatment.successes, treatment.trials, 'treatment');
  requireRateCounts(control.successes, control.trials, 'control');
  const alpha = options.alpha ?? DEFAULT_SEQUENTIAL_ALPHA;
  requireOpenUnit(alpha, 'alpha');
  const mixingVariance = options.mixingVariance ?? DEFAULT_MIXING_VARIANCE;
  requirePositive(mixingVariance, 'mixingVariance');
  const nullDifference = options.nullDifference ?? 0;
  requireFinite(nullDifference, 'nullDifference');

  let pValue = previous?.pValue ?? 1;
  let lower = previous?.lower ?? -1;
  let upper = previous?.upper ?? 1;
  const checks = (previous?.checks ?? 0) + 1;
  if (treatment.trials === 0 || control.trials === 0) {
    const none = Number.NaN;
    return {
      treatmentRate: treatment.trials === 0 ? none : treatment.successes / treatment.trials,
      controlRate: control.trials === 0 ? none : control.successes / control.trials,
      difference: none,
      variance: none,
      logLikelihoodRatio: 0,
      pValue,
      lower,
      upper,
      rejected: pValue <= alpha,
      checks,
    };
  }
  const treatmentRate = treatment.successes / treatment.trials;
  const controlRate = control.successes / control.trials;
  const difference = treatmentRate - controlRate;
  const variance = shrunkVariance(treatment) + shrunkVariance(control);
  const logLikelihoodRatio = mixtureLogLikelihoodRatio(difference, variance, nullDifference, mixingVariance);
  pValue = Math.min(pValue, Math.min(1, Math.exp(-logLikelihoodRatio)));
  const halfWidth = mixtureHalfWidth(variance, mixingVariance, alpha);
  lower = Math.max(lower, difference - halfWidth);
  upper = Math.min(upper, difference + halfWidth);
  return {
    treatmentRate,
    controlRate,
    difference,
    variance,
    logLikelihoodRatio,
    pValue,
    lower,
    upper,
    rejected: pValue <= alpha,
    checks,
  };
}

/**
 * Variance of one arm's rate, p(1-p)/n with p shrunk towards 1/2 by the
 * pseudo-count; also used by the oversell guardrail.
 */
export function shrunkVariance(arm: RateCounts): number {
  const p = (arm.successes + VARIANCE_PSEUDO_COUNT) / (arm.trials + 2 * VARIANCE_PSEUDO_COUNT);
  return (p * (1 - p)) / arm.trials;
}
