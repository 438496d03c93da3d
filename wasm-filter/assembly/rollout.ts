// Rollout by a stable hash of the request id: FNV-1a 32 over the id's UTF-16
// code units, modulo 100. The sidecar computes the same bucket
// (rolloutBucket in sidecar/src/control/control-state.ts), so filter and
// sidecar always agree on which requests a partial rollout covers. No host calls.

const FNV_OFFSET_BASIS: u32 = 0x811c9dc5;
const FNV_PRIME: u32 = 0x01000193;
const BUCKETS: u32 = 100;
const FULL_ROLLOUT_PCT: u32 = 100;

export function fnv1a32(s: string): u32 {
  let h = FNV_OFFSET_BASIS;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    h ^= <u32>s.charCodeAt(i);
    h *= FNV_PRIME;
  }
  return h;
}

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
