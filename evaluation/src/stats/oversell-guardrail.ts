/**
 * The oversell guardrail of an experiment: stop a treatment arm, without a
 * person, as soon as its realized oversell rate is significantly worse than
 * control's, where "significantly" must survive being asked after every
 * batch of outcomes for the whole life of the experiment.
 *
 * One-sided test of H0: oversellT - oversellC <= margin against "treatment
 * oversells more", with the half-normal mixture SPRT (normal-mixture.ts) on
 * the difference of the two oversell rates (oversold / promised) and its
 * plug-in variance. One-sided because a treatment that oversells less is no
 * reason to stop; the half-normal mixture spends no evidence on that side.
 * The stop is sticky: the p-value is the running minimum, so once it fired
 * it stays fired, as Ville's inequality requires.
 *
 * Nothing fires before both arms have `minPromisedPerArm` promises: the
 * normal approximation of a rate near 0 needs a few events per arm before
 * its plug-in variance can be trusted, and a guardrail that stops a good arm
 * on its third oversell teaches operators to switch it off.
 */
import { AtpError } from '@mercato/platform/errors';
import { EVALUATION_ERR } from '../evaluation-errors.js';
import { oneSidedMixtureLogLikelihoodRatio, oneSidedMixtureLowerBound } from './normal-mixture.js';
import { requireCount, requireFinite, requireOpenUnit, requirePositive } from './stats-input.js';
import { DEFAULT_MIXING_VARIANCE, shrunkVariance } from './two-proportion-msprt.js';

/** Probability that the guardrail ever stops a treatment that is no worse than control. */
export const DEFAULT_GUARDRAIL_ALPHA = 0.05;
/**
 * Promises per arm before the guardrail may fire. At oversell rates of 1-2%
 * that is 5-10 oversells per arm, enough for the plug-in variance; the A/A
 * simulation (tests/evaluation/stats/oversell-guardrail.test.ts) keeps false
 * stops under alpha with it at 2% and at 0.5%.
 */
export const DEFAULT_MIN_PROMISED_PER_ARM = 500;

/** One arm's cumulative counts: promises made, and how many of them were oversold (short-picked or oversold). */
export interface OversellCounts {
  promised: number;
  oversold: number;
}

/** The guardrail's tuning; every field optional, defaults above. */
export interface GuardrailOptions {
  /** Default DEFAULT_GUARDRAIL_ALPHA. */
  alpha?: number;
  /** Default DEFAULT_MIN_PROMISED_PER_ARM; a non-negative integer. */
  minPromisedPerArm?: number;
  /** tau^2 of the mixture on the oversell-rate difference, default DEFAULT_MIXING_VARIANCE. */
  mixingVariance?: number;
  /** Excess oversell rate tolerated before the arm counts as worse (absolute, e.g. 0.002), default 0. */
  margin?: number;
}

/** `stop`: take the treatment out of the experiment now (and audit the decision). */
export type GuardrailAction = 'stop' | 'continue';
/** Why: not enough promises to look yet, looked and found no harm, or harm shown. */
export type GuardrailReason = 'too-few-promises' | 'no-significant-harm' | 'treatment-oversells-more';

/** What the experiment engine does next, and the numbers the audit record carries. */
export interface GuardrailDecision {
  action: GuardrailAction;
  reason: GuardrailReason;
  treatmentRate: number;
  controlRate: number;
  /** treatmentRate - controlRate; NaN while an arm has no promises. */
  difference: number;
  /** Confidence-sequence lower bound on the difference (1 - alpha, one-sided); -1 before minPromisedPerArm. */
  lowerBound: number;
  /** ln Lambda+ against `margin` at this check; 0 before minPromisedPerArm. */
  logLikelihoodRatio: number;
  /** Always-valid one-sided p-value: running min of 1 / Lambda+; stop when <= alpha. */
  pValue: number;
  /** 1 / alpha: the likelihood-ratio threshold the stop crossed or not. */
  threshold: number;
  alpha: number;
  margin: number;
  minPromisedPerArm: number;
  /** Checks summarised (previous.checks + 1). */
  checks: number;
}

/**
 * Decide, from cumulative counts of both arms, whether to stop the treatment
 * now; pass the previous decision back in on the next check.
 */
export function oversellGuardrail(
  arms: { treatment: OversellCounts; control: OversellCounts },
  options: GuardrailOptions = {},
  previous?: GuardrailDecision,
): GuardrailDecision {
  const { treatment, control } = arms;
  requireOversellCounts(treatment, 'treatment');
  requireOversellCounts(control, 'control');
  const alpha = options.alpha ?? DEFAULT_GUARDRAIL_ALPHA;
  requireOpenUnit(alpha, 'alpha');
  const minPromisedPerArm = options.minPromisedPerArm ?? DEFAULT_MIN_PROMISED_PER_ARM;
  requireCount(minPromisedPerArm, 'minPromisedPerArm');
  const mixingVariance = options.mixingVariance ?? DEFAULT_MIXING_VARIANCE;
  requirePositive(mixingVariance, 'mixingVariance');
  const margin = options.margin ?? 0;
  requireFinite(margin, 'margin');

  const treatmentRate = treatment.promised === 0 ? Number.NaN : treatment.oversold / treatment.promised;
  const controlRate = control.promised === 0 ? Number.NaN : control.oversold / control.promised;
  const difference = treatmentRate - controlRate;
  let pValue = previous?.pValue ?? 1;
  let lowerBound = previous?.lowerBound ?? -1;
  let logLikelihoodRatio = 0;
  const enough = Math.min(treatment.promised, control.promised) >= Math.max(1, minPromisedPerArm);
  if (enough) {
    const variance =
      shrunkVariance({ successes: treatment.oversold, trials: treatment.promised }) +
      shrunkVariance({ successes: control.oversold, trials: control.promised });
    logLikelihoodRatio = oneSidedMixtureLogLikelihoodRatio(difference, variance, margin, mixingVariance);
    pValue = Math.min(pValue, Math.min(1, Math.exp(-logLikelihoodRatio)));
    lowerBound = Math.max(lowerBound, oneSidedMixtureLowerBound(difference, variance, mixingVariance, alpha));
  }
  // A stop that fired at an earlier check stays fired even if this check had too few promises to look.
  const fired = pValue <= alpha;
  return {
    action: fired ? 'stop' : 'continue',
    reason: fired ? 'treatment-oversells-more' : enough ? 'no-significant-harm' : 'too-few-promises',
    treatmentRate,
    controlRate,
    difference,
    lowerBound,
    logLikelihoodRatio,
    pValue,
    threshold: 1 / alpha,
    alpha,
    margin,
    minPromisedPerArm,
    checks: (previous?.checks ?? 0) + 1,
  };
}

/** Throws unless both counts are non-negative integers and oversold <= promised. */
function requireOversellCounts(arm: OversellCounts, field: string): void {
  requireCount(arm.promised, `${field}.promised`);
  requireCount(arm.oversold, `${field}.oversold`);
  if (arm.oversold > arm.promised) {
    throw new AtpError(
      EVALUATION_ERR.INVALID_COUNTS,
      `${field}: ${arm.oversold} oversold out of ${arm.promised} promised`,
      `${field}.oversold`,
    );
  }
}
