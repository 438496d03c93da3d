/**
 * The sidecar's most recent decisions, kept in memory for lookups by id
 * (GET /v1/decisions/<id>: the operator console's decision explorer) and for
 * the SKUs asked about most often among them (GET /v1/decisions/hot-skus).
 * A fixed ring: the oldest record is overwritten, pushing is constant time
 * and never allocates beyond the index entry. Records carry no user-level
 * data (see decision-log-record.ts), so nothing here leaves the region's rules.
 *
 * Served rows: the score stage hands each scored candidate's model input
 * (`keep`) before the engine pushes the decision's record; the rows wait in
 * a small bounded map until their record arrives, then live in the record's
 * slot and leave with it. A decision that never pushes a record (its
 * request failed after scoring) has its rows dropped once PENDING_ROWS_MAX
 * newer decisions kept rows.
 */
import { FEATURE_COUNT, FEATURE_NAMES } from '@mercato/features/feature-vector';
import type { DecisionSink, ServedRowSink } from '../decision/ports.js';
import type { DecisionLogRecord } from './decision-log-record.js';

/** Default capacity when the ring is turned on without a size. */
export const DECISION_RING_CAPACITY = 4_096;
/** Hot-SKU lists are cut to this length. */
export const MAX_HOT_SKUS = 50;
/** Decisions whose rows wait for their record (requests in flight between scoring and answering). */
export const PENDING_ROWS_MAX = 1_024;
/** Rows kept per decision: more candidates than this are cut (32 per item is the ranker's batch). */
export const SERVED_ROWS_MAX = 256;

/** One scored candidate's model input as it was served. */
export interface ServedRow {
  sku: string;
  node: string;
  /** FEATURE_COUNT floats in FEATURE_NAMES order. */
  features: Float32Array;
}

export interface HotSku {
  sku: string;
  /** Decisions in the ring that asked for the SKU. */
  decisions: number;
  /** Of those, answered while the SKU was flagged hot. */
  hot: number;
}

export class DecisionRing implements DecisionSink, ServedRowSink {
  private readonly slots: (DecisionLogRecord | undefined)[];
  /** The served rows of the record in the same slot (undefined: none were scored). */
  private readonly rows: (ServedRow[] | undefined)[];
  private readonly pending = new Map<string, ServedRow[]>();
  private readonly byId = new Map<string, number>();
  private next = 0;

  constructor(readonly capacity = DECISION_RING_CAPACITY) {
    this.slots = new Array(capacity);
    this.rows = new Array(capacity);
  }

  push(record: DecisionLogRecord): void {
    const old = this.slots[this.next];
    if (old !== undefined && this.byId.get(old.decisionId) === this.next) this.byId.delete(old.decisionId);
    this.slots[this.next] = record;
    this.rows[this.next] = this.takePending(record.decisionId);
    this.byId.set(record.decisionId, this.next);
    this.next = (this.next + 1) % this.capacity;
  }

  keep(decisionId: string, sku: string, node: string, x: Float32Array, offset: number): void {
    let rows = this.pending.get(decisionId);
    if (rows === undefined) {
      // The oldest waiting decision goes first (Map keeps insertion order).
      if (this.pending.size >= PENDING_ROWS_MAX) {
        const oldest = this.pending.keys().next().value;
        if (oldest !== undefined) this.pending.delete(oldest);
      }
      rows = [];
      this.pending.set(decisionId, rows);
    }
    if (rows.length >= SERVED_ROWS_MAX) return;
    rows.push({ sku, node, features: x.slice(offset, offset + FEATURE_COUNT) });
  }

  private takePending(decisionId: string): ServedRow[] | undefined {
    if (this.pending.size === 0) return undefined;
    const rows = this.pending.get(decisionId);
    if (rows !== undefined) this.pending.delete(decisionId);
    return rows;
  }

  /** The record of a recent decision; undefined once it left the ring (or never was). */
  get(decisionId: string): DecisionLogRecord | undefined {
    const i = this.byId.get(decisionId);
    return i === undefined ? undefined : this.slots[i];
  }

  /** The served rows of a recent decision ([] when no model scored it or it left the ring). */
  served(decisionId: string): readonly ServedRow[] {
    const i = this.byId.get(decisionId);
    return (i === undefined ? undefined : this.rows[i]) ?? [];
  }

  /** Decisions whose rows still wait for their record (bounded by PENDING_ROWS_MAX). */
  get pendingDecisions(): number {
    return this.pending.size;
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

/** The wire shape of served rows: `{ sku, node, features: { name: value } }`, names in FEATURE_NAMES order. */
export function servedRowsToJson(rows: readonly ServedRow[]): Record<string, unknown>[] {
  return rows.map((r) => {
    const features: Record<string, number> = {};
    for (let k = 0; k < FEATURE_NAMES.length; k++) features[FEATURE_NAMES[k] as string] = r.features[k] ?? 0;
    return { sku: r.sku, node: r.node, features };
  });
}
