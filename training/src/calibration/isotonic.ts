/**
 * Isotonic calibration (pool-adjacent-violators) of raw model probabilities
 * on validation rows, in the manifest's form: knots (x ascending, y
 * non-decreasing) that `calibrate()` interpolates linearly and clamps at both
 * ends. Knots sit at each block's mean raw p and mean label; blocks are
 * merged (smallest adjacent weight first, which keeps the fit monotone) until
 * at most maxKnots remain, so the manifest stays small.
 */
import { AtpError } from '@mercato/platform/errors';
import type { Calibration } from '@mercato/proto/v1/model-manifest';
import { ERR } from '../errors.js';

/** Upper bound of knots written to the manifest. */
export const ISOTONIC_MAX_KNOTS = 200;
/** Calibrated probabilities are kept this far from 0 and 1: a test row must never cost infinite log loss. */
export const CALIBRATION_EPS = 1e-4;

export function fitIsotonic(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
  maxKnots = ISOTONIC_MAX_KNOTS,
): Extract<Calibration, { method: 'isotonic' }> {
  if (rows < 1) throw new AtpError(ERR.INVALID_ARGUMENT, 'fitIsotonic: need at least one row', 'rows');
  const order = new Int32Array(rows);
  for (let i = 0; i < rows; i++) order[i] = i;
  order.sort((a, b) => p[a]! - p[b]! || a - b);
  // PAV over rows in ascending p; a block holds sums of weight, p and y. Equal p values share a block.
  const w = new Float64Array(rows);
  const sp = new Float64Array(rows);
  const sy = new Float64Array(rows);
  let n = 0;
  for (let k = 0; k < rows; k++) {
    const i = order[k]!;
    const pi = p[i]!;
    if (n > 0 && sp[n - 1]! / w[n - 1]! === pi) {
      w[n - 1]! += 1;
      sp[n - 1]! += pi;
      sy[n - 1]! += y[i]!;
    } else {
      w[n] = 1;
      sp[n] = pi;
      sy[n] = y[i]!;
      n++;
    }
    while (n > 1 && sy[n - 2]! / w[n - 2]! >= sy[n - 1]! / w[n - 1]!) {
      w[n - 2]! += w[n - 1]!;
      sp[n - 2]! += sp[n - 1]!;
      sy[n - 2]! += sy[n - 1]!;
      n--;
    }
  }
  const blocks = {
    w: Array.from(w.subarray(0, n)),
    sp: Array.from(sp.subarray(0, n)),
    sy: Array.from(sy.subarray(0, n)),
  };
  while (blocks.w.length > maxKnots) mergeLightest(blocks);
  const x: number[] = [];
  const yy: number[] = [];
  for (let b = 0; b < blocks.w.length; b++) {
    x.push(blocks.sp[b]! / blocks.w[b]!);
    yy.push(Math.min(1 - CALIBRATION_EPS, Math.max(CALIBRATION_EPS, blocks.sy[b]! / blocks.w[b]!)));
  }
  return { method: 'isotonic', x, y: yy };
}

/** Merges the adjacent pair with the smallest combined weight (ties: leftmost). */
function mergeLightest(b: { w: number[]; sp: number[]; sy: number[] }): void {
  let best = 0;
  for (let i = 1; i < b.w.length - 1; i++) {
    if (b.w[i]! + b.w[i + 1]! < b.w[best]! + b.w[best + 1]!) best = i;
  }
  b.w[best]! += b.w[best + 1]!;
  b.sp[best]! += b.sp[best + 1]!;
  b.sy[best]! += b.sy[best + 1]!;
  b.w.splice(best + 1, 1);
  b.sp.splice(best + 1, 1);
  b.sy.splice(best + 1, 1);
}
