/**
 * Ingest bookkeeping in Redis: per-partition lag reports (written by the
 * ingester, read by the sidecar) and the per-partition sets of SKUs holding
 * out-of-order events. Key names come from redis-keys.ts.
 *
 * The sidecar reads lag from a process-local copy refreshed on a timer, like
 * node liveness: one HGETALL per second instead of one read per decision.
 * RedisStreamHealthReader is the real implementation of the decision core's
 * StreamHealth port.
 */

import type { IngestStateStore, StreamHealth } from '@mercato/features/store-ports';
import { Periodic } from '@mercato/platform/periodic';
import { partitionForKey } from '@mercato/proto/v1/partition-for-key';
import {
  decodeLagReport,
  decodeTopicMeta,
  effectiveLagMs,
  encodeLagReport,
  encodeTopicMeta,
  LAG_REPORT_INTERVAL_MS,
  type LagReport,
  type StreamHealthReader,
  type TopicMeta,
} from '@mercato/proto/v1/stream-lag';
import type { RedisClient } from './cluster-slots.js';
import { LAG_META_FIELD, lagKey, pendingSkusKey } from './redis-keys.js';

export class RedisIngestStateStore implements IngestStateStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly region: string,
  ) {}

  async writeLag(meta: TopicMeta | null, reports: readonly LagReport[]): Promise<void> {
    const args: string[] = meta === null ? [] : [LAG_META_FIELD, encodeTopicMeta(meta)];
    for (const r of reports) args.push(String(r.partition), encodeLagReport(r));
    if (args.length > 0) await this.redis.hset(lagKey(this.region), ...args);
  }

  async pendingSkus(partition: number): Promise<string[]> {
    return this.redis.smembers(pendingSkusKey(this.region, partition));
  }

  async markPending(partition: number, add: readonly string[], remove: readonly string[]): Promise<void> {
    const key = pendingSkusKey(this.region, partition);
    const p = this.redis.pipeline();
    if (add.length > 0) p.sadd(key, ...add);
    if (remove.length > 0) p.srem(key, ...remove);
    const results = await p.exec();
    for (const [err] of results ?? []) if (err !== null) throw err;
  }
}

export interface RedisStreamHealthReaderOptions {
  /**
   * Lag assumed for a partition no ingester ever reported on. Default 0, as
   * the StreamHealth port specifies for "unknown"; UNKNOWN_LAG_MS is the
   * strict choice once an ingester is known to run in the region.
   */
  unknownLagMs?: number;
  clock?: () => number;
}

export class RedisStreamHealthReader implements StreamHealthReader, StreamHealth {
  private byPartition = new Map<number, LagReport>();
  private meta: TopicMeta | null = null;
  private refresher: Periodic | null = null;
  private readonly unknownLagMs: number;
  private readonly clock: () => number;
  /** Time of the last successful refresh (ms); 0 = never. */
  refreshedAtMs = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly region: string,
    opts: RedisStreamHealthReaderOptions = {},
  ) {
    this.unknownLagMs = opts.unknownLagMs ?? 0;
    this.clock = opts.clock ?? Date.now;
  }

  /**
   * Starts refreshing; resolves after the first attempt. A failed refresh
   * keeps the last copy, whose reports then age into lag (effectiveLagMs).
   */
  async start(refreshMs = LAG_REPORT_INTERVAL_MS): Promise<void> {
    if (this.refresher !== null) return;
    const refresher = new Periodic({
      name: 'stream-health-refresh',
      intervalMs: refreshMs,
      run: () => this.refresh(),
    });
    this.refresher = refresher;
    await refresher.runOnce();
    await refresher.start();
  }

  /** Stops refreshing (a refresh in flight is awaited); idempotent. */
  async stop(): Promise<void> {
    const refresher = this.refresher;
    this.refresher = null;
    await refresher?.stop();
  }

  async refresh(): Promise<void> {
    const all = await this.redis.hgetall(lagKey(this.region));
    const next = new Map<number, LagReport>();
    let meta: TopicMeta | null = null;
    for (const [field, text] of Object.entries(all)) {
      if (field === LAG_META_FIELD) {
        meta = decodeTopicMeta(text);
        continue;
      }
      const r = decodeLagReport(text);
      if (r !== null) next.set(r.partition, r);
    }
    this.byPartition = next;
    this.meta = meta;
    this.refreshedAtMs = Date.now();
  }

  partitionOf(key: string): number | null {
    return this.meta === null ? null : partitionForKey(key, this.meta.partitionCount);
  }

  lagMsFor(key: string, nowMs: number): number {
    const p = this.partitionOf(key);
    return p === null ? this.unknownLagMs : effectiveLagMs(this.byPartition.get(p), nowMs, this.unknownLagMs);
  }

  /** StreamHealth: the lag of the SKU's partition now (a silent ingester's report ages into lag). */
  lagMsForSku(sku: string): number {
    return this.lagMsFor(sku, this.clock());
  }

  reports(): LagReport[] {
    return [...this.byPartition.values()].sort((a, b) => a.partition - b.partition);
  }
}
