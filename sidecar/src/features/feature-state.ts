/**
 * Streaming feature state for many (sku,node) pairs and nodes, in memory.
 *
 * Events may arrive duplicated and out of order. Each (sku,node) stream is
 * applied strictly in sequence order: a duplicate (sequence already applied)
 * is ignored, an early event waits in a small per-key buffer until the gap
 * fills. A gap that does not fill within GAP_TIMEOUT_MS of event time (or
 * MAX_PENDING_PER_KEY buffered events) is given up on and counted, so a lost
 * event cannot stall a stream forever. Consequence: any delivery order of the
 * same events within that bound yields identical state.
 */
import { createHash } from 'node:crypto';
import { HEARTBEAT_SKU, type InventoryEvent } from '../../../proto/v1/inventory-event.js';
import { applyInSequence, classify } from './apply-event.js';
import { GAP_TIMEOUT_MS, MAX_PENDING_PER_KEY } from './freshness.js';
import { N, NODE_RECORD_WIDTH, newRecord, R, RECORD_WIDTH } from './record-layout.js';

export type ApplyOutcome = 'applied' | 'duplicate' | 'buffered' | 'heartbeat';

interface Entry {
  rec: Float64Array;
  /** Early events sorted by sequence, unique sequences. */
  pending: InventoryEvent[] | null;
}

export function pairKey(sku: string, node: string): string {
  return `${sku}|${node}`;
}

export class FeatureState {
  private readonly pairs = new Map<string, Entry>();
  private readonly nodes = new Map<string, Float64Array>();
  /** Events applied through gap drains, including the triggering one. */
  appliedEvents = 0;
  duplicateEvents = 0;
  gapsSkipped = 0;

  /** Applies one delivered event. Idempotent: delivering it again is a no-op. */
  apply(e: InventoryEvent): ApplyOutcome {
    const nodeRec = this.nodeRecord(e.node);
    if (e.eventTimeMs > nodeRec[N.lastEventMs]!) nodeRec[N.lastEventMs] = e.eventTimeMs;
    if (e.kind === 'heartbeat' || e.sku === HEARTBEAT_SKU) {
      if (e.eventTimeMs > nodeRec[N.lastHeartbeatMs]!) nodeRec[N.lastHeartbeatMs] = e.eventTimeMs;
      nodeRec[N.heartbeats]! += 1;
      return 'heartbeat';
    }
    const key = pairKey(e.sku, e.node);
    let entry = this.pairs.get(key);
    if (entry === undefined) {
      entry = { rec: newRecord(), pending: null };
      this.pairs.set(key, entry);
    }
    const d = classify(entry.rec, 0, e.sequence);
    if (d === 'duplicate') {
      this.duplicateEvents++;
      return 'duplicate';
    }
    if (d === 'apply') {
      applyInSequence(entry.rec, 0, e);
      this.appliedEvents++;
      this.drain(entry);
      return 'applied';
    }
    if (!this.buffer(entry, e)) {
      this.duplicateEvents++;
      return 'duplicate';
    }
    if (this.gapExpired(entry.pending!)) this.skipGap(entry);
    return entry.rec[R.nextSeq]! > e.sequence ? 'applied' : 'buffered';
  }

  /**
   * Gives up on gaps whose oldest buffered event is more than GAP_TIMEOUT_MS
   * of event time behind `watermarkMs` (the newest event time the caller has
   * seen on the stream). Call it periodically so quiet keys do not wait forever.
   */
  flushGaps(watermarkMs: number): number {
    let skipped = 0;
    for (const entry of this.pairs.values()) {
      const p = entry.pending;
      if (p !== null && p.length > 0 && watermarkMs - p[0]!.eventTimeMs > GAP_TIMEOUT_MS) {
        this.skipGap(entry);
        skipped++;
      }
    }
    return skipped;
  }

  /** The packed record of a pair, or undefined when no event for it was seen. Do not mutate. */
  get(sku: string, node: string): Float64Array | undefined {
    return this.pairs.get(pairKey(sku, node))?.rec;
  }

  /** The node record (heartbeats), or undefined when the node never spoke. Do not mutate. */
  getNode(node: string): Float64Array | undefined {
    return this.nodes.get(node);
  }

  pendingCount(sku: string, node: string): number {
    return this.pairs.get(pairKey(sku, node))?.pending?.length ?? 0;
  }

  get size(): number {
    return this.pairs.size;
  }

  *entries(): IterableIterator<[string, Float64Array]> {
    for (const [k, e] of this.pairs) yield [k, e.rec];
  }

  *nodeEntries(): IterableIterator<[string, Float64Array]> {
    yield* this.nodes;
  }

  /**
   * A hash of everything observable: every record slot, every buffered event
   * and every node record, in sorted key order. Equal digests mean equal state.
   */
  digest(): string {
    const h = createHash('sha256');
    for (const key of [...this.pairs.keys()].sort()) {
      const entry = this.pairs.get(key)!;
      h.update(key);
      h.update(Buffer.from(entry.rec.buffer, entry.rec.byteOffset, RECORD_WIDTH * 8));
      for (const p of entry.pending ?? []) h.update(`|${p.sequence}:${p.eventId}`);
    }
    for (const node of [...this.nodes.keys()].sort()) {
      const rec = this.nodes.get(node)!;
      h.update(node);
      // Heartbeat count depends on duplicates delivered; liveness (the max times) does not.
      h.update(Buffer.from(Float64Array.of(rec[N.lastHeartbeatMs]!, rec[N.lastEventMs]!).buffer));
    }
    return h.digest('hex');
  }

  private nodeRecord(node: string): Float64Array {
    let rec = this.nodes.get(node);
    if (rec === undefined) {
      rec = new Float64Array(NODE_RECORD_WIDTH);
      this.nodes.set(node, rec);
    }
    return rec;
  }

  /** Inserts in sequence order; false when that sequence is already waiting. */
  private buffer(entry: Entry, e: InventoryEvent): boolean {
    const p = entry.pending ?? [];
    entry.pending = p;
    let i = p.length;
    while (i > 0 && p[i - 1]!.sequence > e.sequence) i--;
    if (i > 0 && p[i - 1]!.sequence === e.sequence) return false;
    p.splice(i, 0, e);
    return true;
  }

  private gapExpired(p: InventoryEvent[]): boolean {
    if (p.length > MAX_PENDING_PER_KEY) return true;
    let minT = Number.POSITIVE_INFINITY;
    let maxT = Number.NEGATIVE_INFINITY;
    for (const ev of p) {
      if (ev.eventTimeMs < minT) minT = ev.eventTimeMs;
      if (ev.eventTimeMs > maxT) maxT = ev.eventTimeMs;
    }
    return maxT - minT > GAP_TIMEOUT_MS;
  }

  private skipGap(entry: Entry): void {
    const p = entry.pending;
    if (p === null || p.length === 0) return;
    entry.rec[R.nextSeq] = p[0]!.sequence;
    entry.rec[R.gapsSkipped]! += 1;
    this.gapsSkipped++;
    this.drain(entry);
  }

  /** Applies buffered events that have become next in sequence. */
  private drain(entry: Entry): void {
    const p = entry.pending;
    if (p === null) return;
    while (p.length > 0) {
      const d = classify(entry.rec, 0, p[0]!.sequence);
      if (d === 'early') break;
      const ev = p.shift()!;
      if (d === 'apply') {
        applyInSequence(entry.rec, 0, ev);
        this.appliedEvents++;
      }
    }
    if (p.length === 0) entry.pending = null;
  }
}
