/**
 * What this process last wrote (or read) for a (sku,node) pair, as the exact
 * bytes Redis holds. A writer that owns a partition almost always sees its
 * own last write, so it can fold new events onto the cached state and
 * compare-and-set against the cached bytes: one round trip per batch instead
 * of a read and a write. A CAS conflict evicts the pair and the next round
 * reads it from Redis, so a stale entry can cost a retry, never correctness.
 */

/** Bytes of one pair as stored: the packed record and the held-events JSON ('' when none). */
export interface WrittenPair {
  rec: Buffer;
  pend: string;
}

/** ~300 bytes per entry with the key: 100K pairs stay near 30 MB. */
export const DEFAULT_WRITE_CACHE_PAIRS = 100_000;

export class WrittenPairCache {
  private readonly map = new Map<string, WrittenPair>();

  constructor(private readonly maxPairs = DEFAULT_WRITE_CACHE_PAIRS) {}

  get(key: string): WrittenPair | undefined {
    const hit = this.map.get(key);
    if (hit !== undefined) {
      // Refresh recency: Map iteration order is insertion order, the oldest is evicted first.
      this.map.delete(key);
      this.map.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: WrittenPair): void {
    if (this.maxPairs <= 0) return;
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.maxPairs) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}
