/**
 * CUPED (Deng, Xu, Kohavi and Walker 2013, "Improving the sensitivity of
 * online controlled experiments by utilizing pre-experiment data"): subtract
 * from each unit's metric Y the part its pre-period covariate X predicts,
 *
 *   Y' = Y - theta (X - mean X),  theta = cov(Y, X) / var(X)
 *
 * The mean of Y' estimates the same thing as the mean of Y (X was fixed
 * before assignment, so it has the same mean in every arm), but its variance
 * is var(Y)(1 - rho^2): a unit's node that oversold last week is likely to
 * oversell this week, and that part of the noise is not the treatment.
 *
 * theta is estimated once on both arms pooled, as the paper does: an
 * arm-specific theta would let the treatment leak into the adjustment. The
 * variances below treat theta as known; its estimation error is O(1/n) and
 * negligible at experiment sizes. Where X does not vary, theta is 0 and
 * CUPED gives back the plain difference.
 */
import { AtpError } from '@mercato/platform/errors';
import { EVALUATION_ERR } from '../evaluation-errors.js';
import { twoSidedCriticalValue } from './normal-distribution.js';
import { mergeMoments, type PairedMoments } from './paired-moments.js';
import type { Interval } from './rate-counts.js';
import { DEFAULT_CONFIDENCE } from './wilson-interval.js';

/** A variance needs two observations. */
const MIN_ARM_COUNT = 2;

/** One arm's adjusted and plain mean, each with the variance of the mean. */
export interface CupedArm {
  count: number;
  mean: number;
  variance: number;
  unadjustedMean: number;
  unadjustedVariance: number;
}

/** treatment - control, CUPED-adjusted, with its interval; `variance` can feed the always-valid mixture test. */
export interface CupedComparison extends Interval {
  theta: number;
  variance: number;
  unadjustedEstimate: number;
  unadjustedVariance: number;
  /** 1 - variance / unadjustedVariance: the share of the variance removed (about rho^2). */
  varianceReduction: number;
  treatment: CupedArm;
  control: CupedArm;
}

/** theta = cov(Y, X) / var(X) over the pooled arms; 0 when X does not vary. */
export function cupedTheta(pooled: PairedMoments): number {
  return pooled.squaresX > 0 ? pooled.products / pooled.squaresX : 0;
}

/** One arm's CUPED-adjusted mean, centring X on the pooled mean of X. */
export function cupedArm(arm: PairedMoments, theta: number, pooledMeanX: number, field = 'arm'): CupedArm {
  if (arm.count < MIN_ARM_COUNT) {
    throw new AtpError(
      EVALUATION_ERR.INVALID_COUNTS,
      `${field} has ${arm.count} observations, CUPED needs ${MIN_ARM_COUNT}`,
      `${field}.count`,
    );
  }
  const degrees = arm.count - 1;
  const adjustedSquares = arm.squaresY - 2 * theta * arm.products + theta * theta * arm.squaresX;
  return {
    count: arm.count,
    mean: arm.meanY - theta * (arm.meanX - pooledMeanX),
    // Rounding can push a near-perfect fit a hair below zero.
    variance: Math.max(0, adjustedSquares) / degrees / arm.count,
    unadjustedMean: arm.meanY,
    unadjustedVariance: arm.squaresY / degrees / arm.count,
  };
}

/** The CUPED-adjusted difference of means, treatment - control, with a normal interval at `confidence`. */
export function cupedDifference(
  treatment: PairedMoments,
  control: PairedMoments,
  confidence = DEFAULT_CONFIDENCE,
): CupedComparison {
  const z = twoSidedCriticalValue(confidence);
  const pooled = mergeMoments(treatment, control);
  const theta = cupedTheta(pooled);
  const t = cupedArm(treatment, theta, pooled.meanX, 'treatment');
  const c = cupedArm(control, theta, pooled.meanX, 'control');
  const estimate = t.mean - c.mean;
  const variance = t.variance + c.variance;
  const unadjustedVariance = t.unadjustedVariance + c.unadjustedVariance;
  const halfWidth = z * Math.sqrt(variance);
  return {
    estimate,
    lower: estimate - halfWidth,
    upper: estimate + halfWidth,
    theta,
    variance,
    unadjustedEstimate: t.unadjustedMean - c.unadjustedMean,
    unadjustedVariance,
    varianceReduction: unadjustedVariance > 0 ? 1 - variance / unadjustedVariance : 0,
    treatment: t,
    control: c,
  };
}
