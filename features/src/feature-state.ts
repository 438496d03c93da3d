/**
 * Streaming feature state for many (sku,node) pairs and nodes, in memory.
 *
 * Events may arrive duplicated and out of order. Each (sku,node) stream is
 * applied strictly in sequence order (see sequenced-apply.ts), so any delivery
 * order of the same events within the gap bound yields identical state.
 */
import { createHash } from 'node:crypto';
import { HEARTBEAT_SKU, type InventoryEvent } from '@mercato/proto/v1/inventory-event';
import { N, NODE_RECORD_WIDTH, newRecord, RECORD_WIDTH } from './record-layout.js';
import {
  type ApplyOutcome,
  applyToPair,
  flushPairGap,
  newSequenceStats,
  type PairEntry,
  type SequenceStats,
} from './sequenced-apply.js';

export type { ApplyOutcome } from './sequenced-apply.js';

export function pairKey(sku: string, node: string): string {
  return `${sku}|${node}`;
}

/** Folds a node-level event (heartbeat or any event's liveness) into a node record. */
export function applyToNode(nodeRec: Float64Array, e: InventoryEvent): void {
  if (e.eventTimeMs > nodeRec[N.lastEventMs]!) nodeRec[N.lastEventMs] = e.eventTimeMs;
  if (e.kind === 'heartbeat' || e.sku === HEARTBEAT_SKU) {
    if (e.eventTimeMs > nodeRec[N.lastHeartbeatMs]!) nodeRec[N.lastHeartbeatMs] = e.eventTimeMs;
    nodeRec[N.heartbeats]! += 1;
  }
}

export class FeatureState {
  private readonly pairs = new Map<string, PairEntry>();
  private readonly nodes = new Map<string, Float64Array>();
  readonly stats: SequenceStats = newSequenceStats();

  /** Applies one delivered event. Idempotent: delivering it again is a no-op. */
  apply(e: InventoryEvent): ApplyOutcome {
    applyToNode(this.nodeRecord(e.node), e);
    if (e.kind === 'heartbeat' || e.sku === HEARTBEAT_SKU) return 'heartbeat';
    const key = pairKey(e.sku, e.node);
    let entry = this.pairs.get(key);
    if (entry === undefined) {
      entry = { rec: newRecord(), pending: null };
      this.pairs.set(key, entry);
    }
    return applyToPair(entry, e, this.stats);
  }

  /**
   * Gives up on gaps whose oldest held event is more than GAP_TIMEOUT_MS of
   * event time behind `watermarkMs` (the newest event time the caller has
   * seen). Call it periodically so quiet keys do not wait forever.
   */
  flushGaps(watermarkMs: number): number {
    let skipped = 0;
    for (const entry of this.pairs.values()) {
      if (flushPairGap(entry, watermarkMs, this.stats)) skipped++;
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
   * A hash of everything observable: every record slot, every held event and
   * node liveness, in sorted key order. Equal digests mean equal state.
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
      // The heartbeat count depends on how many duplicates arrived; liveness (the max times) does not.
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
}
