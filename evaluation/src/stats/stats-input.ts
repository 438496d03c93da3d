/**
 * Edge validation shared by the statistics: every exported function checks
 * its inputs with these before computing, so a bad count fails loudly with a
 * coded error naming the argument instead of turning into a NaN three reports
 * later. They allocate nothing on the happy path.
 */
import { AtpError } from '@mercato/platform/errors';
import { EVALUATION_ERR } from '../evaluation-errors.js';

/**
 * Shares are rounded by whoever wrote the experiment config (1/3 + 1/3 + 1/3);
 * a tolerance well above float error but far below any real split difference.
 */
export const SHARE_SUM_TOLERANCE = 1e-6;

/** Throws unless `value` is a non-negative safe integer. */
export function requireCount(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AtpError(
      EVALUATION_ERR.INVALID_COUNTS,
      `${field} must be a non-negative integer, got ${value}`,
      field,
    );
  }
}

/** Throws unless both are counts and `successes <= trials`; `field` prefixes both names. */
export function requireRateCounts(successes: number, trials: number, field: string): void {
  requireCount(successes, `${field}.successes`);
  requireCount(trials, `${field}.trials`);
  if (successes > trials) {
    throw new AtpError(
      EVALUATION_ERR.INVALID_COUNTS,
      `${field}: ${successes} successes out of ${trials} trials`,
      `${field}.successes`,
    );
  }
}

/** Throws unless `value` lies strictly between 0 and 1 (a confidence level, an alpha, a share). */
export function requireOpenUnit(value: number, field: string): void {
  if (!(value > 0 && value < 1)) {
    throw new AtpError(EVALUATION_ERR.INVALID_PARAMETER, `${field} must be in (0, 1), got ${value}`, field);
  }
}

/** Throws unless `value` is finite and strictly positive. */
export function requirePositive(value: number, field: string): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new AtpError(
      EVALUATION_ERR.INVALID_PARAMETER,
      `${field} must be finite and > 0, got ${value}`,
      field,
    );
  }
}

/** Throws unless `value` is a finite number. */
export function requireFinite(value: number, field: string): void {
  if (!Number.isFinite(value)) {
    throw new AtpError(
      EVALUATION_ERR.INVALID_PARAMETER,
      `${field} must be a finite number, got ${value}`,
      field,
    );
  }
}

/** Throws unless `value` is an integer in [min, max]. */
export function requireIntegerIn(value: number, min: number, max: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new AtpError(
      EVALUATION_ERR.INVALID_PARAMETER,
      `${field} must be an integer in [${min}, ${max}], got ${value}`,
      field,
    );
  }
}

/** Throws unless there are at least two shares, each in (0, 1), summing to 1 (within SHARE_SUM_TOLERANCE). */
export function requireShares(shares: ArrayLike<number>, field: string): void {
  if (shares.length < 2) {
    throw new AtpError(EVALUATION_ERR.INVALID_SHARES, `${field} needs at least two arms`, field);
  }
  let sum = 0;
  for (let i = 0; i < shares.length; i++) {
    const share = shares[i] ?? Number.NaN;
    if (!(share > 0 && share < 1)) {
      throw new AtpError(
        EVALUATION_ERR.INVALID_SHARES,
        `${field}[${i}] must be in (0, 1), got ${share}`,
        `${field}[${i}]`,
      );
    }
    sum += share;
  }
  if (Math.abs(sum - 1) > SHARE_SUM_TOLERANCE) {
    throw new AtpError(EVALUATION_ERR.INVALID_SHARES, `${field} must sum to 1, got ${sum}`, field);
  }
}
