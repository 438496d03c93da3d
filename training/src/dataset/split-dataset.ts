/**
 * Time-based split of one world's rows: the first `train` share of checkouts
 * (in decision-time order) trains, the next `valid` share validates (early
 * stopping, calibration, thresholds), the rest tests. Cuts fall between
 * checkouts, never inside one. The acceptance numbers come from a separate,
 * held-out world; this in-world test split is reported beside them.
 */
import { AtpError } from '@mercato/platform/errors';
import { ERR } from '../errors.js';
import { type DecisionRows, sliceRows } from './decision-rows.js';

export interface SplitShares {
  train: number;
  valid: number;
}

export const DEFAULT_SPLIT: SplitShares = { train: 0.7, valid: 0.15 };

export interface DatasetSplits {
  train: DecisionRows;
  valid: DecisionRows;
  test: DecisionRows;
  /** Row index of each cut and the decision time it falls at. */
  cuts: { validStartRow: number; testStartRow: number; validStartMs: number; testStartMs: number };
}

export function splitByTime(d: DecisionRows, shares: SplitShares = DEFAULT_SPLIT): DatasetSplits {
  const a = checkoutBoundary(d, Math.floor(d.rows * shares.train));
  const b = checkoutBoundary(d, Math.floor(d.rows * (shares.train + shares.valid)));
  return {
    train: sliceRows(d, 0, a),
    valid: sliceRows(d, a, b),
    test: sliceRows(d, b, d.rows),
    cuts: {
      validStartRow: a,
      testStartRow: b,
      validStartMs: a < d.rows ? d.atMs[a]! : Number.NaN,
      testStartMs: b < d.rows ? d.atMs[b]! : Number.NaN,
    },
  };
}

/** The first row at or after `row` that starts a checkout. */
function checkoutBoundary(d: DecisionRows, row: number): number {
  let r = Math.min(row, d.rows);
  while (r > 0 && r < d.rows && d.checkout[r] === d.checkout[r - 1]) r++;
  return r;
}

/** Concatenates tables (several training worlds) in the given order. */
export function concatRows(parts: readonly DecisionRows[]): DecisionRows {
  const rows = parts.reduce((s, p) => s + p.rows, 0);
  const cat = <T extends Float32Array | Float64Array | Uint8Array | Int32Array>(
    get: (p: DecisionRows) => T,
  ): T => {
    const first = get(parts[0]!);
    const out = new (first.constructor as new (n: number) => T)(parts.reduce((s, p) => s + get(p).length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(get(p), o);
      o += get(p).length;
    }
    return out;
  };
  if (parts.length === 0)
    throw new AtpError(ERR.INVALID_ARGUMENT, 'concatRows: nothing to concatenate', 'parts');
  return {
    rows,
    x: cat((p) => p.x),
    y: cat((p) => p.y),
    atMs: cat((p) => p.atMs),
    checkout: cat((p) => p.checkout),
    rank: cat((p) => p.rank),
    nodeType: cat((p) => p.nodeType),
    promisedBySim: cat((p) => p.promisedBySim),
    cancelled: cat((p) => p.cancelled),
  };
}
