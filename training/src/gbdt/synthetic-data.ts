/**
 * Seeded synthetic binary-classification data for tests and benchmarks:
 * columns of the kinds the ATP features have (small integer counts, skewed
 * non-negative amounts, signed margins, 0/1 flags, categorical codes), a
 * label drawn from a non-linear logit of a few of them (thresholds and an
 * interaction, so trees have something to find) plus irrelevant columns.
 */
import { Prng } from '../simulator/prng.js';

const SYNTHETIC_STREAM = 21;

export interface SyntheticData {
  x: Float32Array;
  y: Uint8Array;
  rows: number;
  cols: number;
}

/** Column kind by position: cycles so any width gets every kind. */
const KINDS = ['count', 'amount', 'margin', 'flag', 'code'] as const;

export function syntheticBinaryData(rows: number, cols: number, seed: number): SyntheticData {
  const rng = new Prng(seed, SYNTHETIC_STREAM);
  const x = new Float32Array(rows * cols);
  const y = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let f = 0; f < cols; f++) {
      switch (KINDS[f % KINDS.length]!) {
        case 'count':
          x[o + f] = rng.int(0, 12);
          break;
        case 'amount':
          x[o + f] = rng.exp(30);
          break;
        case 'margin':
          x[o + f] = rng.int(-6, 20);
          break;
        case 'flag':
          x[o + f] = rng.chance(0.1) ? 1 : 0;
          break;
        case 'code':
          x[o + f] = rng.int(0, 2);
          break;
      }
    }
    // Signal lives in the first five columns (when present); the rest is noise.
    const count = x[o]!;
    const amount = cols > 1 ? x[o + 1]! : 0;
    const margin = cols > 2 ? x[o + 2]! : 0;
    const flag = cols > 3 ? x[o + 3]! : 0;
    const code = cols > 4 ? x[o + 4]! : 0;
    const z =
      1.2 * Math.tanh(margin / 3) +
      (count >= 3 ? 0.6 : -0.4) -
      0.015 * amount -
      1.5 * flag -
      (code === 2 && margin < 2 ? 1.2 : 0) +
      0.8;
    y[r] = rng.float() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { x, y, rows, cols };
}
