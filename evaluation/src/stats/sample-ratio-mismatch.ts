/**
 * Sample-ratio mismatch (SRM): are units reaching the arms in the shares the
 * experiment asked for? A mismatch means the assignment or the logging is
 * broken (a filter that drops one arm's decisions, a bucket computed from a
 * key that is not stable), and then no other number of the experiment can be
 * trusted. It must be checked continuously, so the usual chi-square test,
 * whose alpha holds for one look only, will not do.
 *
 * This is the sequential Dirichlet-multinomial test of Lindon and Malek 2022
 * ("Anytime-valid inference for multinomial count data", NeurIPS). With
 * arm counts x (total n), expected shares theta0 and a Dirichlet(k theta0)
 * prior on the true shares, the Bayes factor of "shares differ" over "shares
 * are theta0" is
 *
 *   BF = Gamma(k) / Gamma(k + n) * prod_i Gamma(k theta0_i + x_i) / Gamma(k theta0_i)
 *        / prod_i theta0_i^x_i
 *
 * (the prior predictive probability of the observed assignment sequence over
 * its probability under theta0; the multinomial coefficient cancels). Under
 * H0 it is a non-negative martingale with mean 1, so by Ville's inequality
 * P(BF ever >= 1/alpha) <= alpha, exactly, not asymptotically: checked after
 * every unit forever, a healthy experiment trips it with probability at most
 * alpha. The always-valid p-value is the running minimum of 1/BF.
 *
 * The concentration k is how far from theta0 the prior expects the truth: a
 * large k bets on small imbalances (slow to reach 1/alpha on big ones), a
 * small k on big ones. 100 is the authors' default (their `savvi` library).
 */
import { AtpError } from '@mercato/platform/errors';
import gammaln from '@stdlib/math-base-special-gammaln';
import { EVALUATION_ERR } from '../evaluation-errors.js';
import { requireCount, requireOpenUnit, requirePositive, requireShares } from './stats-input.js';

/** The bar: SRM is a data-quality alarm, so it must almost never cry wolf. */
export const DEFAULT_SRM_ALPHA = 0.001;
/** Dirichlet concentration k of the prior Dirichlet(k theta0), Lindon and Malek's default. */
export const DEFAULT_SRM_CONCENTRATION = 100;

/** The SRM check's tuning; every field optional. */
export interface SrmOptions {
  /** Default DEFAULT_SRM_ALPHA. */
  alpha?: number;
  /** Default DEFAULT_SRM_CONCENTRATION; finite and > 0. */
  concentration?: number;
}

/** One check's evidence, combined with the previous checks'. */
export interface SrmResult {
  /** Units counted across all arms. */
  total: number;
  /** ln BF at this check (can be negative: the counts then favour the expected shares). */
  logBayesFactor: number;
  /** Always-valid p-value: running min over checks of 1 / BF, capped at 1. */
  pValue: number;
  /** pValue <= alpha: the assignment does not follow the expected shares. Once true, stays true. */
  mismatch: boolean;
  alpha: number;
  /** Checks summarised (previous.checks + 1). */
  checks: number;
}

/**
 * One check of the running SRM test on cumulative per-arm unit counts (same
 * order as `expectedShares`); pass the previous result back on the next.
 */
export function sampleRatioMismatch(
  counts: ArrayLike<number>,
  expectedShares: ArrayLike<number>,
  options: SrmOptions = {},
  previous?: SrmResult,
): SrmResult {
  requireShares(expectedShares, 'expectedShares');
  if (counts.length !== expectedShares.length) {
    throw new AtpError(
      EVALUATION_ERR.INVALID_SHARES,
      `${counts.length} arm counts for ${expectedShares.length} expected shares`,
      'expectedShares',
    );
  }
  const alpha = options.alpha ?? DEFAULT_SRM_ALPHA;
  requireOpenUnit(alpha, 'alpha');
  const concentration = options.concentration ?? DEFAULT_SRM_CONCENTRATION;
  requirePositive(concentration, 'concentration');

  let total = 0;
  let logBayesFactor = 0;
  for (let i = 0; i < counts.length; i++) {
    const x = counts[i] ?? Number.NaN;
    requireCount(x, `counts[${i}]`);
    const share = expectedShares[i] ?? Number.NaN;
    const prior = concentration * share;
    total += x;
    // An arm with no units yet contributes exactly 0; skip the gamma calls.
    if (x > 0) logBayesFactor += gammaln(prior + x) - gammaln(prior) - x * Math.log(share);
  }
  if (total > 0) logBayesFactor += gammaln(concentration) - gammaln(concentration + total);
  const pValue = Math.min(previous?.pValue ?? 1, Math.min(1, Math.exp(-logBayesFactor)));
  return {
    total,
    logBayesFactor,
    pValue,
    mismatch: pValue <= alpha,
    alpha,
    checks: (previous?.checks ?? 0) + 1,
  };
}
