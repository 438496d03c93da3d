/**
 * Running means, variances and covariance of a pair (y, x): a metric and its
 * pre-period covariate, the sufficient statistics of CUPED. Kept as centred
 * sums (Welford 1962; the pairwise merge of Chan, Golub and LeVeque 1979)
 * rather than raw sums of squares, because sum(y^2) - n mean^2 loses every
 * significant digit when the variance is small next to the mean (revenue in
 * cents, timestamps), and because the join service accumulates per segment
 * one observation at a time and merges segments later.
 */
import { AtpError } from '@mercato/platform/errors';
import { EVALUATION_ERR } from '../evaluation-errors.js';
import { requireFinite } from './stats-input.js';

/** Count, means and centred second moments of (y, x) pairs. */
export interface PairedMoments {
  count: number;
  meanY: number;
  meanX: number;
  /** sum (y - meanY)^2 */
  squaresY: number;
  /** sum (x - meanX)^2 */
  squaresX: number;
  /** sum (x - meanX)(y - meanY) */
  products: number;
}

/** The moments of no observations; `addObservation` fills it. */
export function emptyMoments(): PairedMoments {
  return { count: 0, meanY: 0, meanX: 0, squaresY: 0, squaresX: 0, products: 0 };
}

/**
 * Adds one observation to `into`, in place: the one mutating function here,
 * so a streaming accumulator costs no allocation per event.
 */
export function addObservation(into: PairedMoments, y: number, x: number): void {
  requireFinite(y, 'y');
  requireFinite(x, 'x');
  into.count += 1;
  const dx = x - into.meanX;
  const dy = y - into.meanY;
  into.meanX += dx / into.count;
  into.meanY += dy / into.count;
  into.squaresX += dx * (x - into.meanX);
  into.squaresY += dy * (y - into.meanY);
  into.products += dx * (y - into.meanY);
}

/** The moments of the union of two disjoint sets of observations. */
export function mergeMoments(a: PairedMoments, b: PairedMoments): PairedMoments {
  const count = a.count + b.count;
  if (count === 0) return emptyMoments();
  const dx = b.meanX - a.meanX;
  const dy = b.meanY - a.meanY;
  const weight = (a.count * b.count) / count;
  return {
    count,
    meanY: a.meanY + (dy * b.count) / count,
    meanX: a.meanX + (dx * b.count) / count,
    squaresY: a.squaresY + b.squaresY + dy * dy * weight,
    squaresX: a.squaresX + b.squaresX + dx * dx * weight,
    products: a.products + b.products + dx * dy * weight,
  };
}

/** The moments of paired columns `y[i]`, `x[i]` (equal lengths, finite values). */
export function momentsOf(y: ArrayLike<number>, x: ArrayLike<number>): PairedMoments {
  if (y.length !== x.length) {
    throw new AtpError(
      EVALUATION_ERR.INVALID_PARAMETER,
      `${y.length} metric values for ${x.length} covariates`,
      'x',
    );
  }
  const moments = emptyMoments();
  for (let i = 0; i < y.length; i++) addObservation(moments, y[i] ?? Number.NaN, x[i] ?? Number.NaN);
  return moments;
}
