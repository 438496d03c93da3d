/**
 * Binary log loss on raw scores (logits): the objective the trees boost.
 * Gradients and hessians are interleaved in one Float64Array (g at 2r, h at
 * 2r+1) so the histogram loop reads both from one cache line.
 */

/** Probabilities are clamped this far from 0 and 1 inside the loss (log(0) is -inf). */
export const LOSS_EPS = 1e-15;
/** Smallest hessian kept: a row predicted with certainty still weighs a little. */
export const MIN_HESSIAN = 1e-16;

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function logit(p: number): number {
  const q = Math.min(1 - LOSS_EPS, Math.max(LOSS_EPS, p));
  return Math.log(q / (1 - q));
}

/**
 * d/dF and d2/dF2 of -[y log p + (1-y) log(1-p)] with p = sigmoid(F):
 * g = p - y, h = p (1 - p). Writes 2*rows values into `gh`.
 */
export function logLossGradients(raw: Float64Array, y: Uint8Array, rows: number, gh: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const p = 1 / (1 + Math.exp(-raw[r]!));
    gh[2 * r] = p - y[r]!;
    const h = p * (1 - p);
    gh[2 * r + 1] = Math.max(h, MIN_HESSIAN);
  }
}

/** Mean log loss of raw scores (logits) against 0/1 labels. */
export function meanLogLossRaw(raw: Float64Array, y: Uint8Array, rows: number): number {
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    const f = raw[r]!;
    // log(1 + e^-|f|) + max(f,0) - y f: stable for large |f|.
    sum += Math.log1p(Math.exp(-Math.abs(f))) + Math.max(f, 0) - y[r]! * f;
  }
  return rows > 0 ? sum / rows : 0;
}

/** Mean log loss of probabilities against 0/1 labels. */
export function meanLogLoss(p: ArrayLike<number>, y: ArrayLike<number>, rows = p.length): number {
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    const q = Math.min(1 - LOSS_EPS, Math.max(LOSS_EPS, p[r]!));
    sum -= y[r]! === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return rows > 0 ? sum / rows : 0;
}
