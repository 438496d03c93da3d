/**
 * The exactly-once audit of a closed-loop world: the region's Redis must
 * equal the world's delivered system view (every event the world sent,
 * applied once in sequence order; WorldDriver.deliveredView), pair by pair
 * and slot by slot, with the same events held in gaps (none, normally). An event applied
 * twice, lost or applied out of order shows up as a differing slot.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis } from '@mercato/adapters/redis/redis-client';
import { RedisFeatureStore } from '@mercato/adapters/redis/redis-feature-store';
import type { FeatureState } from '@mercato/features/feature-state';

/** Pairs read at once (ioredis pipelines concurrent commands). */
const READ_CONCURRENCY = 256;
/** Mismatches listed at most (the count is always exact). */
const MAX_LISTED = 20;
/** Between two audits while waiting for the ingester to catch up (wall ms). */
const RETRY_EVERY_MS = 500;

export interface StoreAudit {
  /** Pairs of the view compared. */
  pairs: number;
  /** Pairs whose Redis record differs from the view (or still holds events). */
  mismatched: number;
  /** Up to MAX_LISTED of them, with the first differing slot. */
  examples: string[];
  equal: boolean;
}

export async function auditStore(redisUrl: string, region: string, view: FeatureState): Promise<StoreAudit> {
  const client = await connectRedis(redisUrl, 'write');
  try {
    const store = new RedisFeatureStore(client, region);
    const entries = [...view.entries()];
    const examples: string[] = [];
    let mismatched = 0;
    for (let i = 0; i < entries.length; i += READ_CONCURRENCY) {
      const chunk = entries.slice(i, i + READ_CONCURRENCY);
      const got = await Promise.all(
        chunk.map(([key]) => {
          const [sku, node] = key.split('|') as [string, string];
          return store.readPair(sku, node);
        }),
      );
      chunk.forEach(([key, rec], j) => {
        const entry = got[j];
        const [sku, node] = key.split('|') as [string, string];
        const held = entry?.pending?.length ?? 0;
        const viewHeld = view.pendingCount(sku, node);
        let problem: string | null = null;
        if (entry === undefined) problem = 'not read';
        else if (held !== viewHeld) {
          problem = `${held} event(s) held in a gap, the world holds ${viewHeld}`;
        } else {
          for (let s = 0; s < rec.length; s++) {
            if (!Object.is(entry.rec[s], rec[s])) {
              problem = `slot ${s}: redis ${entry.rec[s]} != world ${rec[s]}`;
              break;
            }
          }
        }
        if (problem !== null) {
          mismatched++;
          if (examples.length < MAX_LISTED) examples.push(`${key}: ${problem}`);
        }
      });
    }
    return { pairs: entries.length, mismatched, examples, equal: mismatched === 0 };
  } finally {
    client.disconnect();
  }
}

/** Audits until Redis equals the view (the ingester caught up) or `timeoutMs` (wall) passed; the last audit. */
export async function awaitStoreEqual(
  redisUrl: string,
  region: string,
  view: FeatureState,
  timeoutMs: number,
): Promise<StoreAudit> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const audit = await auditStore(redisUrl, region, view);
    if (audit.equal || Date.now() >= deadline) return audit;
    await sleep(RETRY_EVERY_MS);
  }
}
