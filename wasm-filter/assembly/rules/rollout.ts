// Rollout by a stable hash of the request id: FNV-1a 32 over the id's UTF-16
// code units, modulo 100. The sidecar computes the same bucket
// (rolloutBucket in sidecar/src/control/control-state.ts), so filter and
// sidecar always agree on which requests a partial rollout covers. No host calls.

import { fnv1a32 } from '../text/fnv1a32';

const BUCKETS: u32 = 100;
const FULL_ROLLOUT_PCT: u32 = 100;

/** 0..99; the same request id always lands in the same bucket. */
export function rolloutBucket(requestId: string): u32 {
  return fnv1a32(requestId) % BUCKETS;
}

/** True when a request with this id gets the route's mode (else the route is off for it). */
export function inRollout(requestId: string, rolloutPct: u32): bool {
  if (rolloutPct >= FULL_ROLLOUT_PCT) return true;
  if (rolloutPct == 0) return false;
  return rolloutBucket(requestId) < rolloutPct;
}
