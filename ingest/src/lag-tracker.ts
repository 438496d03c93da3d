/**
 * Per-partition consumer position of one ingester: high watermark, the
 * position applied to the store, the committed offset, the timestamp of the
 * last applied record and event-time age at apply. Fed by batches, applies
 * and commits (exact, immediate) and by a periodic offsets refresh from the
 * brokers (so lag keeps growing while the ingester is stuck on an
 * unreachable Redis and fetches nothing).
 *
 * Lag is measured against the applied position, not the committed one: the
 * policy cares about how far the store is behind the log, and commits are
 * coalesced (they trail the applied position by up to a commit interval).
 * After a restart both start at the committed offset.
 */
import { type LagReport, offsetDiff } from '@mercato/proto/v1/stream-lag';

interface PartitionPosition {
  highWatermark: string;
  /** Next offset to read as committed; null until known. */
  committed: string | null;
  /** Next offset after the last record applied to the store by this ingester; null until the first. */
  applied: string | null;
  /** Record timestamp of the last applied record (ms); 0 = none applied by us yet. */
  lastAppliedTsMs: number;
  eventAgeMs: number;
  assignedAtMs: number;
}

export class LagTracker {
  private readonly parts = new Map<number, PartitionPosition>();
  /** Partition count of the topic (0 = not known yet). */
  partitionCount = 0;

  constructor(
    private readonly owner: string,
    private readonly clock: () => number,
  ) {}

  /** The group gave this ingester `partitions`: forget the others, start the new ones. */
  assign(partitions: readonly number[]): void {
    const keep = new Set(partitions);
    for (const p of [...this.parts.keys()]) if (!keep.has(p)) this.parts.delete(p);
    const now = this.clock();
    for (const p of partitions) {
      if (!this.parts.has(p)) {
        this.parts.set(p, {
          highWatermark: '0',
          committed: null,
          applied: null,
          lastAppliedTsMs: 0,
          eventAgeMs: -1,
          assignedAtMs: now,
        });
      }
    }
  }

  assigned(): number[] {
    return [...this.parts.keys()].sort((a, b) => a - b);
  }

  onBatch(partition: number, highWatermark: string): void {
    const p = this.parts.get(partition);
    if (p !== undefined) p.highWatermark = maxOffset(p.highWatermark, highWatermark);
  }

  /** Records before `nextOffset` are visible in the store; `lastTimestampMs` is the last one's record timestamp. */
  onApplied(partition: number, nextOffset: string, lastTimestampMs: number, eventAgeMs: number): void {
    const p = this.parts.get(partition);
    if (p === undefined) return;
    p.applied = p.applied === null ? nextOffset : maxOffset(p.applied, nextOffset);
    p.lastAppliedTsMs = lastTimestampMs;
    if (eventAgeMs >= 0) p.eventAgeMs = eventAgeMs;
  }

  /** The coordinator acknowledged `nextOffset` for the partition. */
  onCommitted(partition: number, nextOffset: string): void {
    const p = this.parts.get(partition);
    if (p === undefined) return;
    p.committed = p.committed === null ? nextOffset : maxOffset(p.committed, nextOffset);
  }

  /** Offsets asked of the brokers; only ever move positions forward. */
  onOffsets(highWatermarks: Map<number, string>, committed: Map<number, string>): void {
    if (highWatermarks.size > this.partitionCount) this.partitionCount = highWatermarks.size;
    for (const [partition, p] of this.parts) {
      const high = highWatermarks.get(partition);
      if (high !== undefined) p.highWatermark = maxOffset(p.highWatermark, high);
      const c = committed.get(partition);
      if (c !== undefined) p.committed = p.committed === null ? c : maxOffset(p.committed, c);
    }
  }

  reports(): LagReport[] {
    const now = this.clock();
    const out: LagReport[] = [];
    for (const [partition, p] of [...this.parts].sort((a, b) => a[0] - b[0])) {
      const committed = p.committed ?? '0';
      const position = p.applied === null ? committed : maxOffset(p.applied, committed);
      const offsetLag = offsetDiff(p.highWatermark, position);
      // Before our first apply the last applied record's time is unknown; the time since
      // assignment is then the best (lower) bound available, and it is replaced within one batch.
      const since = p.lastAppliedTsMs > 0 ? p.lastAppliedTsMs : p.assignedAtMs;
      out.push({
        partition,
        offsetLag,
        lagMs: offsetLag > 0 ? Math.max(0, now - since) : 0,
        eventAgeMs: p.eventAgeMs,
        committedOffset: committed,
        highWatermark: p.highWatermark,
        updatedAtMs: now,
        owner: this.owner,
      });
    }
    return out;
  }
}

function maxOffset(a: string, b: string): string {
  return BigInt(a) >= BigInt(b) ? a : b;
}
