/**
 * Ingest bookkeeping in process memory, the embedded twin of
 * RedisIngestStateStore + RedisStreamHealthReader: the embedded ingester
 * writes its lag reports here and the sidecar of the same process reads the
 * lag of a SKU's partition from here, so `npm start` exercises the same
 * lag path production does (a silent ingester's reports age into lag).
 */
import type { IngestStateStore, StreamHealth } from '@mercato/features/store-ports';
import { partitionForKey } from '@mercato/proto/v1/partition-for-key';
import {
  effectiveLagMs,
  type LagReport,
  type StreamHealthReader,
  type TopicMeta,
} from '@mercato/proto/v1/stream-lag';

export interface MemoryIngestStateOptions {
  /** Lag assumed for a partition nobody reported on (default 0, as StreamHealth says for "unknown"). */
  unknownLagMs?: number;
  clock?: () => number;
}

export class MemoryIngestState implements IngestStateStore, StreamHealthReader, StreamHealth {
  private readonly byPartition = new Map<number, LagReport>();
  private readonly pending = new Map<number, Set<string>>();
  private meta: TopicMeta | null = null;
  private readonly unknownLagMs: number;
  private readonly clock: () => number;

  constructor(opts: MemoryIngestStateOptions = {}) {
    this.unknownLagMs = opts.unknownLagMs ?? 0;
    this.clock = opts.clock ?? Date.now;
  }

  async writeLag(meta: TopicMeta | null, reports: readonly LagReport[]): Promise<void> {
    if (meta !== null) this.meta = { ...meta };
    for (const r of reports) this.byPartition.set(r.partition, { ...r });
  }

  async pendingSkus(partition: number): Promise<string[]> {
    return [...(this.pending.get(partition) ?? [])];
  }

  async markPending(partition: number, add: readonly string[], remove: readonly string[]): Promise<void> {
    let set = this.pending.get(partition);
    if (set === undefined) {
      set = new Set();
      this.pending.set(partition, set);
    }
    for (const s of add) set.add(s);
    for (const s of remove) set.delete(s);
  }

  get topicMeta(): TopicMeta | null {
    return this.meta;
  }

  partitionOf(key: string): number | null {
    return this.meta === null ? null : partitionForKey(key, this.meta.partitionCount);
  }

  lagMsFor(key: string, nowMs: number): number {
    const p = this.partitionOf(key);
    return p === null ? this.unknownLagMs : effectiveLagMs(this.byPartition.get(p), nowMs, this.unknownLagMs);
  }

  lagMsForSku(sku: string): number {
    return this.lagMsFor(sku, this.clock());
  }

  reports(): LagReport[] {
    return [...this.byPartition.values()].sort((a, b) => a.partition - b.partition);
  }
}
