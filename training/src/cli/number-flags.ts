/**
 * Numeric flags of the training CLIs, on top of the platform flag toolkit's
 * flagError (ATP_ERR_INVALID_FLAG, field = the flag). The wording differs
 * from the platform's intFlag on purpose: the CLIs' tests and users' scripts
 * match `--x: expected a whole number, got "y"` and `--x: must be between
 * a and b, got y`, which name the two distinct mistakes (not a number at
 * all, or out of range).
 */
import { flagError } from '@mercato/platform/flags';
import { MAX_START_TIME_MS, MIN_START_TIME_MS } from '../simulator/sim-config.js';

/** A whole number in [min, max] (underscores allowed as digit separators); `dflt` when absent. */
export function wholeNumberFlag(
  raw: string | undefined,
  flag: string,
  min: number,
  max: number,
  dflt: number,
): number;
export function wholeNumberFlag(
  raw: string | undefined,
  flag: string,
  min: number,
  max: number,
): number | null;
export function wholeNumberFlag(
  raw: string | undefined,
  flag: string,
  min: number,
  max: number,
  dflt?: number,
): number | null {
  if (raw === undefined) return dflt ?? null;
  const s = raw.trim().replaceAll('_', '');
  if (!/^\d+$/.test(s)) throw flagError(flag, `expected a whole number, got "${raw}"`);
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw flagError(flag, `must be between ${min} and ${max}, got ${raw}`);
  }
  return n;
}

/** A finite number in [min, max]; `dflt` when absent. */
export function realNumberFlag(
  raw: string | undefined,
  flag: string,
  min: number,
  max: number,
  dflt: number,
): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw flagError(flag, `expected a number, got "${raw}"`);
  if (n < min || n > max) throw flagError(flag, `must be between ${min} and ${max}, got ${raw}`);
  return n;
}

/** A simulated start time: epoch ms in the simulator's range, or `now`. */
export function startTimeFlag(raw: string | undefined, flag: string, nowMs: () => number): number | null {
  if (raw === undefined) return null;
  return raw === 'now' ? nowMs() : wholeNumberFlag(raw, flag, MIN_START_TIME_MS, MAX_START_TIME_MS, 0);
}
