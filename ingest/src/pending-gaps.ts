/**
 * SKUs whose (sku,node) streams hold out-of-order events, per partition, and
 * the event-time watermark that decides when their gaps are given up on
 * (features/sequenced-apply.ts). The set is mirrored in the state store so a
 * restarted or newly assigned ingester still flushes gaps of quiet SKUs.
 *
 * The watermark is per partition (the newest event time applied from it):
 * every event of a SKU travels on one partition, so a partition that lags
 * behind the others does not see its gaps flushed by their progress.
 * Flushing runs inside the partition's batch handler, never beside it, so a
 * flush and an apply of the same SKU cannot race on the pending marks.
 */
import type { FeatureSink, IngestStateStore } from '@mercato/features/store-ports';

/** Flush again only after the partition's watermark moved this much event time (the gap timeout is minutes). */
export const FLUSH_WATERMARK_STEP_MS = 5_000;

interface PartitionGaps {
  loaded: boolean;
  skus: Set<string>;
  watermarkMs: number;
  flushedAtWatermarkMs: number;
}

export class PendingGaps {
  private readonly parts = new Map<number, PartitionGaps>();

  constructor(
    private readonly store: FeatureSink,
    private readonly state: IngestStateStore,
    private readonly flushStepMs = FLUSH_WATERMARK_STEP_MS,
  ) {}

  /** Loads the partition's marks the first time it is handled after an assignment. */
  async load(partition: number): Promise<void> {
    const p = this.part(partition);
    if (p.loaded) return;
    for (const sku of await this.state.pendingSkus(partition)) p.skus.add(sku);
    p.loaded = true;
  }

  observe(partition: number, eventTimeMs: number): void {
    const p = this.part(partition);
    if (eventTimeMs > p.watermarkMs) p.watermarkMs = eventTimeMs;
  }

  watermarkMs(partition: number): number {
    return this.parts.get(partition)?.watermarkMs ?? 0;
  }

  /** Records which of the SKUs an apply touched still hold events. */
  async afterApply(
    partition: number,
    touched: ReadonlySet<string>,
    stillPending: readonly string[],
  ): Promise<void> {
    const p = this.part(partition);
    const pendingNow = new Set(stillPending);
    const add = stillPending.filter((s) => !p.skus.has(s));
    const remove: string[] = [];
    for (const sku of touched) if (!pendingNow.has(sku) && p.skus.has(sku)) remove.push(sku);
    if (add.length === 0 && remove.length === 0) return;
    await this.state.markPending(partition, add, remove);
    for (const s of add) p.skus.add(s);
    for (const s of remove) p.skus.delete(s);
  }

  /** Gives up on expired gaps when the watermark moved enough; returns the gaps skipped. */
  async maybeFlush(partition: number): Promise<number> {
    const p = this.part(partition);
    if (p.skus.size === 0 || p.watermarkMs - p.flushedAtWatermarkMs < this.flushStepMs) return 0;
    const skus = [...p.skus];
    const report = await this.store.flushGaps(skus, p.watermarkMs);
    await this.afterApply(partition, new Set(skus), report.skusWithPending);
    p.flushedAtWatermarkMs = p.watermarkMs;
    return report.gapsSkipped;
  }

  /** Forgets partitions this ingester no longer owns; their marks stay in the store for the next owner. */
  retain(partitions: readonly number[]): void {
    const keep = new Set(partitions);
    for (const p of [...this.parts.keys()]) if (!keep.has(p)) this.parts.delete(p);
  }

  pendingCount(partition: number): number {
    return this.parts.get(partition)?.skus.size ?? 0;
  }

  private part(partition: number): PartitionGaps {
    let p = this.parts.get(partition);
    if (p === undefined) {
      p = { loaded: false, skus: new Set(), watermarkMs: 0, flushedAtWatermarkMs: 0 };
      this.parts.set(partition, p);
    }
    return p;
  }
}
