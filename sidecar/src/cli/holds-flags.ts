/**
 * The `serve` flags of the soft reservations (issue 16), validated apart so
 * serve-flags.ts only embeds the result:
 * - `--hold-key-file PATH`   key of the hold tokens, shared by the region's
 *                            sidecars (default: a key of this process only);
 * - `--hold-journal PATH`    the hold journal's file (default: memory only);
 * - `--hold-wait-replicas N` hot-SKU holds wait for N replica acknowledgements
 *   `--hold-wait-ms M`       for at most M ms (Redis WAIT; default off).
 */
import { flagError, intFlag } from '@mercato/platform/flags';
import { HoldTokens } from '../adapters/http/hold-token.js';
import { RESERVATION_TIMEOUT_MS } from '../decision/policies/reservation-policy.js';

export const MAX_HOLD_WAIT_REPLICAS = 5;
/** WAIT must leave the script call room inside the engine's bound on one reservation. */
export const MAX_HOLD_WAIT_MS = RESERVATION_TIMEOUT_MS - 2;
export const DEFAULT_HOLD_WAIT_MS = 5;

export interface RawHoldsFlags {
  holdKeyFile?: string;
  holdJournal?: string;
  holdWaitReplicas?: string;
  holdWaitMs?: string;
}

export interface HoldsConfig {
  tokens: HoldTokens;
  /** True when the key came from --hold-key-file (else tokens verify only on this sidecar). */
  sharedKey: boolean;
  journalPath: string | null;
  waitReplicas: number;
  waitMs: number;
}

export function parseHoldsFlags(raw: RawHoldsFlags): HoldsConfig {
  if (raw.holdJournal === '') throw flagError('--hold-journal', 'expected a file path');
  const waitReplicas = intFlag(
    raw.holdWaitReplicas,
    '--hold-wait-replicas',
    { min: 0, max: MAX_HOLD_WAIT_REPLICAS },
    0,
  );
  const waitMs = intFlag(
    raw.holdWaitMs,
    '--hold-wait-ms',
    { min: 1, max: MAX_HOLD_WAIT_MS },
    DEFAULT_HOLD_WAIT_MS,
  );
  if (raw.holdWaitMs !== undefined && waitReplicas === 0) {
    throw flagError('--hold-wait-ms', 'needs --hold-wait-replicas 1 or more');
  }
  return {
    tokens: raw.holdKeyFile === undefined ? HoldTokens.ephemeral() : HoldTokens.fromFile(raw.holdKeyFile),
    sharedKey: raw.holdKeyFile !== undefined,
    journalPath: raw.holdJournal ?? null,
    waitReplicas,
    waitMs,
  };
}
