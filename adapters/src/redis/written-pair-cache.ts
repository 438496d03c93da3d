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

type Generation = Map<string, Map<string, WrittenPair>>;

/**
 * Keyed by SKU, then node: the lookup hashes the two strings of the event
 * (V8 keeps a string's hash), where a `${sku}|${node}` key would build and
 * hash a new string on every lookup.
 *
 * Two generations instead of a strict LRU: a hit in the young one costs two
 * lookups (a strict LRU re-inserts on every hit); a hit in the old one moves
 * the entry to the young one; when the young one holds maxPairs / 2 pairs it
 * becomes the old one and the previous old one is dropped. So it holds at
 * most maxPairs pairs and keeps every pair touched in the last maxPairs / 2
 * writes.
 */
export class WrittenPairCache {
  private young: Generation = new Map();
  private old: Generation = new Map();
  private youngPairs = 0;
  private oldPairs = 0;
  private readonly generationPairs: number;

  constructor(private readonly maxPairs = DEFAULT_WRITE_CACHE_PAIRS) {
    this.generationPairs = Math.max(1, Math.floor(maxPairs / 2));
  }

  get(sku: string, node: string): WrittenPair | undefined {
    const hit = this.young.get(sku)?.get(node);
    if (hit !== undefined) return hit;
    const aged = this.old.get(sku)?.get(node);
    if (aged !== undefined) this.set(sku, node, aged);
    return aged;
  }

  set(sku: string, node: string, value: WrittenPair): void {
    if (this.maxPairs <= 0) return;
    if (this.removeFrom(this.old, sku, node)) this.oldPairs--;
    let nodes = this.young.get(sku);
    if (nodes === undefined) {
      nodes = new Map();
      this.young.set(sku, nodes);
    }
    const size = nodes.size;
    nodes.set(node, value);
    if (nodes.size > size) this.youngPairs++;
    if (this.youngPairs >= this.generationPairs) {
      this.old = this.young;
      this.oldPairs = this.youngPairs;
      this.young = new Map();
      this.youngPairs = 0;
    }
  }

  delete(sku: string, node: string): void {
    if (this.removeFrom(this.young, sku, node)) this.youngPairs--;
    if (this.removeFrom(this.old, sku, node)) this.oldPairs--;
  }

  clear(): void {
    this.young = new Map();
    this.old = new Map();
    this.youngPairs = 0;
    this.oldPairs = 0;
  }

  get size(): number {
    return this.youngPairs + this.oldPairs;
  }

  private removeFrom(gen: Generation, sku: string, node: string): boolean {
    const nodes = gen.get(sku);
    if (nodes === undefined || !nodes.delete(node)) return false;
    if (nodes.size === 0) gen.delete(sku);
    return true;
  }
}
