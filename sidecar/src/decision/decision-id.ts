/**
 * Decision ids, which are also the hold ids the order service confirms and
 * releases with: `d-<ms base36>-<96 random bits base64url>`. The time prefix
 * keeps them roughly time-ordered (readable in logs, sortable to the ms); the
 * random part makes a live hold id unguessable (issue 16: the old process tag
 * and counter let anyone enumerate the holds of a sidecar).
 */
import { randomBytes, randomFillSync } from 'node:crypto';

/** Random bytes per id: 96 bits. */
export const DECISION_ID_RANDOM_BYTES = 12;
/** Ids drawn per refill of the random pool (one getrandom call per this many decisions). */
const POOL_IDS = 512;
const pool = Buffer.alloc(DECISION_ID_RANDOM_BYTES * POOL_IDS);
let poolAt = pool.length;

export function newDecisionId(nowMs: number): string {
  if (poolAt >= pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const rnd = pool.toString('base64url', poolAt, poolAt + DECISION_ID_RANDOM_BYTES);
  // Used bytes are wiped, so a later dump of the pool cannot reveal past ids.
  pool.fill(0, poolAt, poolAt + DECISION_ID_RANDOM_BYTES);
  poolAt += DECISION_ID_RANDOM_BYTES;
  return `d-${nowMs.toString(36)}-${rnd}`;
}

/** A sidecar's name in shared bookkeeping (store epoch rebuild marks) when none is configured. */
export function newSidecarId(): string {
  return `sc-${randomBytes(6).toString('hex')}`;
}
