/**
 * Platt scaling: calibrated = sigmoid(a * logit(p) + b), fitted by Newton's
 * method on the validation log loss. The alternative to isotonic when the
 * validation set is small (two parameters cannot overfit).
 */
import type { Calibration } from '@mercato/proto/v1/model-manifest';

const PLATT_MAX_ITERATIONS = 100;
const PLATT_TOLERANCE = 1e-10;
/** p is clamped this far from 0 and 1 before logit, as calibrate() does. */
const LOGIT_EPS = 1e-7;

export function fitPlatt(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
): Extract<Calibration, { method: 'platt' }> {
  const z = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const q = Math.min(1 - LOGIT_EPS, Math.max(LOGIT_EPS, p[i]!));
    z[i] = Math.log(q / (1 - q));
  }
  let a = 1;
  let b = 0;
  for (let it = 0; it < PLATT_MAX_ITERATIONS; it++) {
    // Gradient and Hessian of the mean log loss in (a, b).
    let ga = 0;
    let gb = 0;
    let haa = 0;
    let hab = 0;
    let hbb = 0;
    for (let i = 0; i < rows; i++) {
      const s = 1 / (1 + Math.exp(-(a * z[i]! + b)));
      const g = s - y[i]!;
      const h = Math.max(s * (1 - s), 1e-12);
      ga += g * z[i]!;
      gb += g;
      haa += h * z[i]! * z[i]!;
      hab += h * z[i]!;
      hbb += h;
    }
    const det = haa * hbb - hab * hab;
    if (Math.abs(det) < 1e-18) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < PLATT_TOLERANCE) break;
  }
  return { method: 'platt', a, b };
}
