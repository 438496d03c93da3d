/**
 * Scalar metrics of probabilistic predictions and of promise policies, on
 * typed arrays. A "policy" is a 0/1 promise per row; its oversell rate is the
 * share of promised rows whose label is 0, and its available-promise rate is
 * the share of truly available rows (label 1) it promised (the conversion
 * proxy).
 */
import { meanLogLoss } from '../gbdt/log-loss.js';

/** Equal-width bins of the reliability diagram and ECE. */
export const ECE_BINS = 10;

export { meanLogLoss as logLoss };

/** Area under the ROC curve (ties count one half), by ranks. */
export function auc(p: ArrayLike<number>, y: ArrayLike<number>, rows: number): number {
  const idx = Int32Array.from({ length: rows }, (_, i) => i).sort((a, b) => p[a]! - p[b]!);
  let pos = 0;
  let rankSum = 0;
  let k = 0;
  while (k < rows) {
    let j = k;
    while (j < rows && p[idx[j]!]! === p[idx[k]!]!) j++;
    // Rows k..j-1 tie: each gets the mean rank (1-based).
    const meanRank = (k + 1 + j) / 2;
    for (let m = k; m < j; m++) {
      if (y[idx[m]!] === 1) {
        pos++;
        rankSum += meanRank;
      }
    }
    k = j;
  }
  const neg = rows - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export interface ReliabilityBin {
  lo: number;
  hi: number;
  rows: number;
  meanP: number;
  /** Observed share of label 1. */
  meanY: number;
}

export function reliability(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
  bins = ECE_BINS,
): ReliabilityBin[] {
  const n = new Float64Array(bins);
  const sp = new Float64Array(bins);
  const sy = new Float64Array(bins);
  for (let i = 0; i < rows; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p[i]! * bins)));
    n[b]! += 1;
    sp[b]! += p[i]!;
    sy[b]! += y[i]!;
  }
  return Array.from({ length: bins }, (_, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    rows: n[b]!,
    meanP: n[b]! > 0 ? sp[b]! / n[b]! : 0,
    meanY: n[b]! > 0 ? sy[b]! / n[b]! : 0,
  }));
}

/** Expected calibration error: row-weighted mean |mean p - mean y| over equal-width bins. */
export function ece(p: ArrayLike<number>, y: ArrayLike<number>, rows: number, bins = ECE_BINS): number {
  let sum = 0;
  for (const b of reliability(p, y, rows, bins)) sum += b.rows * Math.abs(b.meanP - b.meanY);
  return rows > 0 ? sum / rows : 0;
}

export interface PolicyStats {
  rows: number;
  promised: number;
  promiseRate: number;
  /** Promised rows whose label is 0, over promised rows. */
  oversellRate: number;
  /** Promised rows with label 1 over rows with label 1 (conversion proxy). */
  availablePromiseRate: number;
  /** Mean cost per row: costRatio per oversell, 1 per refused available row. */
  expectedCost: number;
}

export function policyStats(
  promise: Uint8Array,
  y: ArrayLike<number>,
  rows: number,
  costRatio: number,
): PolicyStats {
  let promised = 0;
  let oversold = 0;
  let available = 0;
  let availablePromised = 0;
  for (let i = 0; i < rows; i++) {
    const ok = y[i] === 1;
    if (ok) available++;
    if (promise[i] === 1) {
      promised++;
      if (ok) availablePromised++;
      else oversold++;
    }
  }
  const lost = available - availablePromised;
  return {
    rows,
    promised,
    promiseRate: rows > 0 ? promised / rows : 0,
    oversellRate: promised > 0 ? oversold / promised : 0,
    availablePromiseRate: available > 0 ? availablePromised / available : 0,
    expectedCost: rows > 0 ? (costRatio * oversold + lost) / rows : 0,
  };
}

/**
 * The model's policy promising exactly the `count` rows of highest p (ties
 * broken by row order, so the count is met exactly): "the model at the same
 * promise rate as a baseline". Returns the promise mask and the p of the last
 * promised row (the threshold that rate corresponds to).
 */
export function topKPolicy(
  p: ArrayLike<number>,
  rows: number,
  count: number,
): { promise: Uint8Array; threshold: number } {
  const idx = Int32Array.from({ length: rows }, (_, i) => i).sort((a, b) => p[b]! - p[a]! || a - b);
  const promise = new Uint8Array(rows);
  const k = Math.max(0, Math.min(rows, count));
  for (let i = 0; i < k; i++) promise[idx[i]!] = 1;
  return { promise, threshold: k > 0 ? p[idx[k - 1]!]! : 1 };
}

/** Promise mask of p >= threshold (+ margin where `margin` rows are flagged). */
export function thresholdPolicy(
  p: ArrayLike<number>,
  rows: number,
  threshold: (i: number) => number,
): Uint8Array {
  const promise = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) promise[i] = p[i]! >= threshold(i) ? 1 : 0;
  return promise;
}
