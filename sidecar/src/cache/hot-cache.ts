/**
 * The sidecar's hot cache of (sku,node) feature records (DESIGN.md §9:
 * features from the hot cache < 0.1 ms). Whole SKUs are the unit of caching,
 * because the store answers a SKU's candidates in one round trip and the
 * decision needs all of them.
 *
 * Memory layout (no object per record, so 1M records fit in ~100 MB):
 * - a record slab of typed arrays, one slot per (sku,node): the record slots
 *   that features and policy read (CACHED_F64_SLOTS exact as float64,
 *   CACHED_I32_SLOTS as int32, which are integer unit counts), the node index
 *   and a link to the SKU's next record;
 * - a SKU table: Map sku -> slot, with per-slot head record, count, expiry,
 *   fetch time and LRU links in typed arrays;
 * - a node table for liveness (heartbeats), one row per node.
 *
 * Bounds: `maxRecords` records and `maxSkus` SKUs; inserting past either
 * evicts least-recently-used SKUs. Freshness: a SKU expires after the
 * smallest TTL of its nodes' types (half the node type's freshness SLO, so
 * cache age and stream lag together stay within the SLO). Expired entries
 * stay until evicted and may be served as `stale` when the store is down, up
 * to STALE_SERVE_MAX_MS.
 */

import { FRESHNESS_SLO_MS } from '@mercato/features/freshness';
import { NODE_RECORD_WIDTH, R, RECORD_WIDTH } from '@mercato/features/record-layout';
import type { SkuView } from '@mercato/features/store-ports';
import type { NodeType } from '@mercato/proto/v1/decision';

/** Share of a node type's freshness SLO a cached record may spend in the cache. */
export const HOT_CACHE_TTL_SHARE_OF_SLO = 0.5;
export const HOT_CACHE_TTL_MS: Record<NodeType, number> = {
  warehouse: FRESHNESS_SLO_MS.warehouse * HOT_CACHE_TTL_SHARE_OF_SLO,
  store: FRESHNESS_SLO_MS.store * HOT_CACHE_TTL_SHARE_OF_SLO,
  seller: FRESHNESS_SLO_MS.seller * HOT_CACHE_TTL_SHARE_OF_SLO,
};
/** TTL of a SKU the store knows no node for (negative caching), and of nodes the directory lacks. */
export const HOT_CACHE_UNKNOWN_TTL_MS = Math.min(...Object.values(HOT_CACHE_TTL_MS));
/** An expired entry is never served, even when the store is down, once it is this old. */
export const STALE_SERVE_MAX_MS = 600_000;
export const DEFAULT_HOT_CACHE_RECORDS = 1_000_000;
/** Default SKU slots per record slot: SKUs have a few candidate nodes each. */
export const DEFAULT_SKUS_PER_RECORD = 0.5;
/** Small caches still get this many SKU slots (empty, negatively cached SKUs hold no records). */
export const MIN_SKU_SLOTS = 1_024;
/**
 * Views handed out by `read` kept for reuse (the most requested SKUs under a
 * Zipf load): a SKU with a hundred nodes is a 20 KB copy per read otherwise,
 * which was the checkout path's main garbage (issue 17). Past it the memo
 * starts over.
 */
export const MEMO_VIEWS = 4_096;
/** The node table is sized for a region's nodes; past it, it is cleared and refilled. */
export const MAX_CACHED_NODES = 500_000;

/** Record slots kept exactly as float64 (times and decayed averages). */
export const CACHED_F64_SLOTS = [
  R.lastStockEventMs,
  R.lastCountMs,
  R.velocityPerH,
  R.velocityAtMs,
  R.cancelShare,
];
/** Record slots kept as int32: unit counts, integers by construction (event quantities are integers). */
export const CACHED_I32_SLOTS = [R.onHand, R.reserved, R.lastCountDelta, R.countedLossUnits, R.receivedUnits];
const F64N = CACHED_F64_SLOTS.length;
const I32N = CACHED_I32_SLOTS.length;
const NIL = -1;

export type CacheLookup = 'hit' | 'stale' | 'miss';

export interface HotCacheOptions {
  maxRecords?: number;
  maxSkus?: number;
  /** TTL of a node's records; the directory's node type decides it. */
  ttlMsForNode: (nodeId: string) => number;
}

export interface HotCacheStats {
  hits: number;
  misses: number;
  stale: number;
  evictions: number;
  /** SKUs refused because a value did not fit the packed layout or the SKU exceeds maxRecords. */
  uncacheable: number;
}

export class HotCache {
  readonly maxRecords: number;
  readonly maxSkus: number;
  readonly stats: HotCacheStats = { hits: 0, misses: 0, stale: 0, evictions: 0, uncacheable: 0 };

  // Record slab.
  private readonly f64: Float64Array;
  private readonly i32: Int32Array;
  private readonly recNode: Int32Array;
  private readonly recNext: Int32Array;
  private freeRec = NIL;
  private usedRecords = 0;
  private recHighWater = 0;

  // SKU table.
  private readonly skuSlot = new Map<string, number>();
  private readonly skuName: (string | undefined)[];
  private readonly skuHead: Int32Array;
  private readonly skuCount: Int32Array;
  private readonly skuExpiresAt: Float64Array;
  private readonly skuFetchedAt: Float64Array;
  private readonly lruPrev: Int32Array;
  private readonly lruNext: Int32Array;
  private lruHead = NIL;
  private lruTail = NIL;
  private freeSku = NIL;
  private skuHighWater = 0;

  // Node table.
  private readonly nodeIndex = new Map<string, number>();
  private nodeIds: string[] = [];
  private nodeRecs = new Float64Array(1024 * NODE_RECORD_WIDTH);
  /** Bumped whenever a node record changes: a memoized view copies node records, so it is valid for one epoch. */
  private nodeEpoch = 0;
  private readonly memo = new Map<string, { view: SkuView; epoch: number }>();

  constructor(private readonly opts: HotCacheOptions) {
    this.maxRecords = opts.maxRecords ?? DEFAULT_HOT_CACHE_RECORDS;
    this.maxSkus =
      opts.maxSkus ?? Math.max(MIN_SKU_SLOTS, Math.floor(this.maxRecords * DEFAULT_SKUS_PER_RECORD));
    const n = this.maxRecords;
    this.f64 = new Float64Array(n * F64N);
    this.i32 = new Int32Array(n * I32N);
    this.recNode = new Int32Array(n);
    this.recNext = new Int32Array(n);
    const s = this.maxSkus;
    this.skuName = new Array(s);
    this.skuHead = new Int32Array(s);
    this.skuCount = new Int32Array(s);
    this.skuExpiresAt = new Float64Array(s);
    this.skuFetchedAt = new Float64Array(s);
    this.lruPrev = new Int32Array(s);
    this.lruNext = new Int32Array(s);
  }

  get records(): number {
    return this.usedRecords;
  }

  get skus(): number {
    return this.skuSlot.size;
  }

  /** Bytes held by the typed arrays (the bound); strings and the Map come on top. */
  get slabBytes(): number {
    return (
      this.f64.byteLength +
      this.i32.byteLength +
      this.recNode.byteLength +
      this.recNext.byteLength +
      this.skuHead.byteLength +
      this.skuCount.byteLength +
      this.skuExpiresAt.byteLength +
      this.skuFetchedAt.byteLength +
      this.lruPrev.byteLength +
      this.lruNext.byteLength +
      this.nodeRecs.byteLength
    );
  }

  /**
   * Looks `sku` up. `hit`: fresh, `stale`: expired but young enough to serve
   * when the store is down, `miss`: absent or too old. Counts a hit only for
   * `hit`; call `read` to get the view.
   */
  lookup(sku: string, nowMs: number): CacheLookup {
    const slot = this.skuSlot.get(sku);
    if (slot === undefined) return 'miss';
    if (nowMs < this.skuExpiresAt[slot]!) return 'hit';
    return nowMs - this.skuFetchedAt[slot]! <= STALE_SERVE_MAX_MS ? 'stale' : 'miss';
  }

  /** The cached view of `sku` (undefined when absent); marks it most recently used. */
  read(sku: string): SkuView | undefined {
    const slot = this.skuSlot.get(sku);
    if (slot === undefined) return undefined;
    this.touch(slot);
    const m = this.memo.get(sku);
    if (m !== undefined && m.epoch === this.nodeEpoch) return m.view;
    const count = this.skuCount[slot]!;
    const nodeIds: string[] = new Array(count);
    const recs = new Float64Array(count * RECORD_WIDTH);
    const nodeRecs = new Float64Array(count * NODE_RECORD_WIDTH);
    let r = this.skuHead[slot]!;
    for (let i = 0; i < count; i++) {
      const ni = this.recNode[r]!;
      nodeIds[i] = this.nodeIds[ni]!;
      const o = i * RECORD_WIDTH;
      const fo = r * F64N;
      for (let k = 0; k < F64N; k++) recs[o + CACHED_F64_SLOTS[k]!] = this.f64[fo + k]!;
      const io = r * I32N;
      for (let k = 0; k < I32N; k++) recs[o + CACHED_I32_SLOTS[k]!] = this.i32[io + k]!;
      const no = ni * NODE_RECORD_WIDTH;
      for (let k = 0; k < NODE_RECORD_WIDTH; k++)
        nodeRecs[i * NODE_RECORD_WIDTH + k] = this.nodeRecs[no + k]!;
      r = this.recNext[r]!;
    }
    // Views are read-only downstream (features, policy, scoring only read them): one copy serves many reads.
    const view = { nodeIds, recs, nodeRecs };
    if (this.memo.size >= MEMO_VIEWS) this.memo.clear();
    this.memo.set(sku, { view, epoch: this.nodeEpoch });
    return view;
  }

  /** Age of the cached copy (ms), or undefined. */
  ageMs(sku: string, nowMs: number): number | undefined {
    const slot = this.skuSlot.get(sku);
    return slot === undefined ? undefined : nowMs - this.skuFetchedAt[slot]!;
  }

  /**
   * Stores `view` as fetched at `nowMs`, replacing any older copy. Returns
   * false (and caches nothing) when a value does not fit the packed layout or
   * the SKU alone exceeds the record bound.
   */
  put(sku: string, view: SkuView, nowMs: number): boolean {
    const count = view.nodeIds.length;
    if (count > this.maxRecords || !fitsPacked(view)) {
      this.stats.uncacheable++;
      this.remove(sku);
      return false;
    }
    this.remove(sku);
    if (this.nodeIds.length + count > MAX_CACHED_NODES) this.resetNodes();
    while (this.usedRecords + count > this.maxRecords || this.skuSlot.size >= this.maxSkus) {
      if (!this.evictLru()) break;
    }
    const slot = this.allocSku();
    this.skuSlot.set(sku, slot);
    this.skuName[slot] = sku;
    this.skuCount[slot] = count;
    this.skuFetchedAt[slot] = nowMs;
    let ttl = count === 0 ? HOT_CACHE_UNKNOWN_TTL_MS : Number.POSITIVE_INFINITY;
    let head = NIL;
    // Insert in reverse so the chain reads back in view order.
    for (let i = count - 1; i >= 0; i--) {
      const nodeId = view.nodeIds[i]!;
      ttl = Math.min(ttl, this.opts.ttlMsForNode(nodeId));
      const r = this.allocRecord();
      const ni = this.nodeSlot(nodeId);
      this.recNode[r] = ni;
      this.recNext[r] = head;
      head = r;
      const o = i * RECORD_WIDTH;
      const fo = r * F64N;
      for (let k = 0; k < F64N; k++) this.f64[fo + k] = view.recs[o + CACHED_F64_SLOTS[k]!]!;
      const io = r * I32N;
      for (let k = 0; k < I32N; k++) this.i32[io + k] = view.recs[o + CACHED_I32_SLOTS[k]!]!;
      const no = ni * NODE_RECORD_WIDTH;
      for (let k = 0; k < NODE_RECORD_WIDTH; k++) {
        const v = view.nodeRecs[i * NODE_RECORD_WIDTH + k]!;
        // Liveness only moves forward; another SKU's newer read of the node wins.
        if (v > this.nodeRecs[no + k]!) {
          this.nodeRecs[no + k] = v;
          this.nodeEpoch++;
        }
      }
    }
    this.skuHead[slot] = head;
    this.skuExpiresAt[slot] = nowMs + ttl;
    this.pushFront(slot);
    return true;
  }

  /** Drops `sku` (e.g. after the store reported a change). */
  remove(sku: string): void {
    const slot = this.skuSlot.get(sku);
    if (slot === undefined) return;
    this.unlink(slot);
    this.releaseSlot(slot);
  }

  clear(): void {
    for (const sku of [...this.skuSlot.keys()]) this.remove(sku);
  }

  private evictLru(): boolean {
    const slot = this.lruTail;
    if (slot === NIL) return false;
    this.unlink(slot);
    this.releaseSlot(slot);
    this.stats.evictions++;
    return true;
  }

  private releaseSlot(slot: number): void {
    let r = this.skuHead[slot]!;
    for (let i = this.skuCount[slot]!; i > 0; i--) {
      const next = this.recNext[r]!;
      this.recNext[r] = this.freeRec;
      this.freeRec = r;
      this.usedRecords--;
      r = next;
    }
    this.skuSlot.delete(this.skuName[slot]!);
    this.memo.delete(this.skuName[slot]!);
    this.skuName[slot] = undefined;
    this.skuCount[slot] = 0;
    this.lruNext[slot] = this.freeSku;
    this.freeSku = slot;
  }

  private allocRecord(): number {
    this.usedRecords++;
    if (this.freeRec !== NIL) {
      const r = this.freeRec;
      this.freeRec = this.recNext[r]!;
      return r;
    }
    return this.recHighWater++;
  }

  private allocSku(): number {
    if (this.freeSku !== NIL) {
      const s = this.freeSku;
      this.freeSku = this.lruNext[s]!;
      return s;
    }
    return this.skuHighWater++;
  }

  private nodeSlot(nodeId: string): number {
    let ni = this.nodeIndex.get(nodeId);
    if (ni !== undefined) return ni;
    ni = this.nodeIds.length;
    this.nodeIds.push(nodeId);
    this.nodeIndex.set(nodeId, ni);
    if ((ni + 1) * NODE_RECORD_WIDTH > this.nodeRecs.length) {
      const grown = new Float64Array(this.nodeRecs.length * 2);
      grown.set(this.nodeRecs);
      this.nodeRecs = grown;
    }
    return ni;
  }

  /** A region never has MAX_CACHED_NODES nodes; if it happens, start over rather than grow without bound. */
  private resetNodes(): void {
    this.clear();
    this.nodeIndex.clear();
    this.nodeIds = [];
    this.nodeRecs.fill(0);
    this.memo.clear();
    this.nodeEpoch++;
  }

  private touch(slot: number): void {
    if (this.lruHead === slot) return;
    this.unlink(slot);
    this.pushFront(slot);
  }

  private pushFront(slot: number): void {
    this.lruPrev[slot] = NIL;
    this.lruNext[slot] = this.lruHead;
    if (this.lruHead !== NIL) this.lruPrev[this.lruHead] = slot;
    this.lruHead = slot;
    if (this.lruTail === NIL) this.lruTail = slot;
  }

  private unlink(slot: number): void {
    const p = this.lruPrev[slot]!;
    const n = this.lruNext[slot]!;
    if (p !== NIL) this.lruNext[p] = n;
    else this.lruHead = n;
    if (n !== NIL) this.lruPrev[n] = p;
    else this.lruTail = p;
    this.lruPrev[slot] = NIL;
    this.lruNext[slot] = NIL;
  }
}

/** True when every int32 slot of every record holds an int32-exact integer. */
function fitsPacked(view: SkuView): boolean {
  for (let i = 0; i < view.nodeIds.length; i++) {
    const o = i * RECORD_WIDTH;
    for (let k = 0; k < I32N; k++) {
      const v = view.recs[o + CACHED_I32_SLOTS[k]!]!;
      if ((v | 0) !== v) return false;
    }
  }
  return true;
}
