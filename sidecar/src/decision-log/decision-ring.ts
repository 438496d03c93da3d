/**
 * The sidecar's most recent decisions, kept in memory for lookups by id
 * (GET /v1/decisions/<id>: the operator console's decision explorer) and for
 * the SKUs asked about most often among them (GET /v1/decisions/hot-skus).
 * A fixed ring: the oldest record is overwritten, pushing is constant time
 * and never allocates beyond the index entry. Records carry no user-level
 * data (see decision-log-record.ts), so nothing here leaves the region's rules.
 */
import type { DecisionSink } from '../decision/ports.js';
import type { DecisionLogRecord } from './decision-log-record.js';

/** Default capacity when the ring is turned on without a size. */
export const DECISION_RING_CAPACITY = 4_096;
/** Hot-SKU lists are cut to this length. */
export const MAX_HOT_SKUS = 50;

export interface HotSku {
  sku: string;
  /** Decisions in the ring that asked for the SKU. */
  decisions: number;
  /** Of those, answered while the SKU was flagged hot. */
  hot: number;
}

export class DecisionRing implements DecisionSink {
  private readonly slots: (DecisionLogRecord | undefined)[];
  private readonly byId = new Map<string, number>();
  private next = 0;

  constructor(readonly capacity = DECISION_RING_CAPACITY) {
    this.slots = new Array(capacity);
  }

  push(record: DecisionLogRecord): void {
    const old = this.slots[this.next];
    if (old !== undefined && this.byId.get(old.decisionId) === this.next) this.byId.delete(old.decisionId);
    this.slots[this.next] = record;
    this.byId.set(record.decisionId, this.next);
    this.next = (this.next + 1) % this.capacity;
  }

  /** The record of a recent decision; undefined once it left the ring (or never was). */
  get(decisionId: string): DecisionLogRecord | undefined {
    const i = this.byId.get(decisionId);
    return i === undefined ? undefined : this.slots[i];
  }

  /** SKUs by how many recent decisions asked for them, most first (at most `limit`). */
  hotSkus(limit = MAX_HOT_SKUS): HotSku[] {
    const counts = new Map<string, HotSku>();
    for (const r of this.slots) {
      if (r === undefined) continue;
      for (const it of r.items) {
        const c = counts.get(it.sku) ?? { sku: it.sku, decisions: 0, hot: 0 };
        c.decisions++;
        if (it.hot) c.hot++;
        counts.set(it.sku, c);
      }
    }
    return [...counts.values()]
      .sort((a, b) => b.decisions - a.decisions || a.sku.localeCompare(b.sku))
      .slice(0, Math.min(limit, MAX_HOT_SKUS));
  }

  /** Recent decisions whose model side and baseline disagreed (shadow disagreements), newest first. */
  disagreements(limit: number): DecisionLogRecord[] {
    const out: DecisionLogRecord[] = [];
    for (let k = 1; k <= this.capacity && out.length < limit; k++) {
      const r = this.slots[(this.next - k + this.capacity) % this.capacity];
      if (r === undefined) break;
      if (r.modelDecision !== null && r.modelDecision !== r.baselineDecision) out.push(r);
    }
    return out;
  }
}
