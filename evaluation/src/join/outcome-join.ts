/**
 * The outcome join: decisions and outcome records in, per-segment counts out
 * (SqliteJoinStore). Event time throughout (see README.md, "Windows"):
 *
 * - Watermark: each input partition's progress is the largest event time
 *   applied from it (a decision's ts, an outcome's resolved_at, a truth's
 *   decided_at); the watermark W is the smallest progress over the partitions
 *   that still have records to deliver (Flink's rule), so a backfill that
 *   reads one partition or one topic ahead of the others closes no window
 *   early. A partition caught up with its log end is idle and holds nothing
 *   back; a partition known to have a backlog but not read yet holds W where
 *   it is. W never goes back;
 * - a decision's window is open from its ts until W >= ts + horizon +
 *   lateness; an outcome counts when it resolved within `horizon` of the
 *   decision and arrived while the window was open, in any order relative to
 *   its decision (one that arrives first waits as an orphan);
 * - when the window closes, promised items without an outcome count as
 *   unresolved and the decision's state is deleted; a record whose window
 *   already closed counts as late and changes no figure.
 *
 * Duplicates are harmless: a decision id or an outcome of an item seen again
 * while the window is open is counted as a duplicate and ignored (the first
 * one counts); after the window closed it is late, ignored too. Records below
 * the stored offset of their partition (a re-delivery after a restart) are
 * skipped before anything else. `apply` runs one batch, its offsets and the
 * watermark in one SQLite transaction.
 */
import { AtpError, toAtpError } from '@mercato/platform/errors';
import type { DecisionEvent, ItemNodeType } from '@mercato/proto/v1/decision-event';
import { decodeOutcome, encodeOutcome, type OrderOutcome } from '@mercato/proto/v1/order-outcome';
import { decodeStockTruth, encodeStockTruth, type StockTruth } from '@mercato/proto/v1/stock-truth';
import { ContractError } from '@mercato/proto/v1/validate';
import { CalibrationDeltas } from '../calibration/calibration-table.js';
import { EVALUATION_ERR } from '../evaluation-errors.js';
import { decodeRecord, eventTimeMs, type JoinInput, type Stream } from './decode-record.js';
import { type AggregateCounts, emptyCounts, type JoinCounter } from './join-counts.js';
import { type DecisionSegment, decisionSegment, itemSegment, segmentKey, segmentValues } from './segment.js';
import type {
  PartitionProgress,
  PendingDecisionRow,
  PendingItemRow,
  SqliteJoinStore,
} from './sqlite-join-store.js';

/** A pick is expected within a day or two of checkout; outcomes later than this say nothing about the promise. */
export const DEFAULT_HORIZON_MS = 48 * 3_600_000;
/** How far behind the newest event a record may arrive and still count (cross-partition disorder). */
export const DEFAULT_LATENESS_MS = 10 * 60_000;
/** The watermark after closeAll(): every window is closed, every later record is late. */
export const CLOSED_WATERMARK_MS = Number.MAX_SAFE_INTEGER;

export interface JoinConfig {
  region: string;
  horizonMs: number;
  latenessMs: number;
}

export interface SourceRecord {
  /** Position in its partition (Kafka offset, or line number of a file). */
  offset: number;
  key: string | null;
  value: string;
}

/** Consecutive records of one partition of one stream. */
export interface RecordBatch {
  stream: Stream;
  /** Topic name or file path: with `partition`, the key of the stored offset. */
  source: string;
  partition: number;
  records: readonly SourceRecord[];
  /** The partition's log end was reached with this batch (it turns idle until it delivers again). */
  caughtUp?: boolean;
}

/** A partition the source will read, and where its log ends now (registered before the first batch). */
export interface PartitionEnd {
  source: string;
  partition: number;
  /** Offset one past its last record (Kafka high watermark). */
  endOffset: number;
}

export interface DeadLetter {
  stream: Stream;
  source: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  code: string;
  /** The offending field (`items[0].qty`, `$` for the whole message). */
  field: string;
  reason: string;
}

/** A decoded batch, ready for `apply` once its dead letters are durable. */
export interface PreparedBatch {
  batch: RecordBatch;
  inputs: JoinInput[];
  deadLetters: DeadLetter[];
  replayed: number;
  /** Offset to store and commit: one past the batch's last record (or the stored one, if higher). */
  nextOffset: number;
}

export class OutcomeJoin {
  private readonly closeAfterMs: number;
  private readonly deltas = new Map<string, { seg: string[]; counts: AggregateCounts }>();
  private readonly counterDeltas = new Map<JoinCounter, number>();
  private readonly armDecisionDeltas = new Map<string, { region: string; arm: string; n: number }>();
  private readonly calibrationDeltas = new CalibrationDeltas();
  private watermark = 0;
  /** Cached per transaction: the earliest pending close, and how many orphans wait (saves a query per record). */
  private nextCloseMs = Number.POSITIVE_INFINITY;
  private orphans = 0;
  private readonly partitions = new Map<string, PartitionProgress>();

  constructor(
    private readonly store: SqliteJoinStore,
    readonly config: JoinConfig,
  ) {
    this.closeAfterMs = config.horizonMs + config.latenessMs;
    for (const p of store.partitions()) this.partitions.set(`${p.source}\t${p.partition}`, p);
  }

  /**
   * The source's partitions and their log ends, before it delivers: a
   * partition with records beyond its stored offset holds the watermark until
   * it has delivered them; one with none is idle.
   */
  registerPartitions(ends: readonly PartitionEnd[]): void {
    this.store.transaction(() => {
      for (const e of ends) {
        const p = this.partition(e.source, e.partition);
        p.idle = this.store.nextOffset(e.source, e.partition) >= e.endOffset;
        this.store.putPartition(p);
      }
    });
  }

  /** Decodes a batch without changing state: what to apply, what to dead-letter, what was applied already. */
  prepare(batch: RecordBatch): PreparedBatch {
    const stored = this.store.nextOffset(batch.source, batch.partition);
    const inputs: JoinInput[] = [];
    const deadLetters: DeadLetter[] = [];
    let replayed = 0;
    let next = stored;
    for (const r of batch.records) {
      if (r.offset < stored) {
        replayed++;
        continue;
      }
      next = Math.max(next, r.offset + 1);
      try {
        inputs.push(decodeRecord(batch.stream, r.value, this.config.region));
      } catch (err) {
        deadLetters.push(deadLetterOf(batch, r, err));
      }
    }
    return { batch, inputs, deadLetters, replayed, nextOffset: next };
  }

  /** Applies a prepared batch and stores its offset, all in one transaction. */
  apply(p: PreparedBatch): void {
    try {
      this.applyInTransaction(p);
    } catch (err) {
      // The transaction rolled back: forget the in-memory progress it made.
      this.partitions.clear();
      for (const q of this.store.partitions()) this.partitions.set(`${q.source}\t${q.partition}`, q);
      throw err;
    }
  }

  private applyInTransaction(p: PreparedBatch): void {
    this.store.transaction(() => {
      this.begin();
      const part = this.partition(p.batch.source, p.batch.partition);
      part.idle = false;
      for (const input of p.inputs) this.applyOne(input, part);
      part.idle = p.batch.caughtUp === true;
      this.advance(this.partitionWatermark());
      this.store.putPartition(part);
      this.count('records_applied', p.inputs.length);
      this.count('records_replayed', p.replayed);
      this.count('dead_lettered', p.deadLetters.length);
      this.store.setNextOffset(p.batch.source, p.batch.partition, p.nextOffset);
      this.flush();
    });
  }

  /** End of input (a finished file run): closes every window now. */
  closeAll(): void {
    this.store.transaction(() => {
      this.begin();
      this.advance(CLOSED_WATERMARK_MS);
      this.flush();
    });
  }

  private begin(): void {
    this.deltas.clear();
    this.counterDeltas.clear();
    this.armDecisionDeltas.clear();
    this.calibrationDeltas.clear();
    this.watermark = this.store.watermarkMs();
    this.nextCloseMs = this.store.nextCloseMs();
    this.orphans = this.store.pendingOrphans();
  }

  private flush(): void {
    for (const { seg, counts } of this.deltas.values()) this.store.addAggregate(seg, counts);
    for (const [name, n] of this.counterDeltas) this.store.addCounter(name, n);
    for (const a of this.armDecisionDeltas.values()) this.store.addArmDecisions(a.region, a.arm, a.n);
    this.store.calibration.write(this.calibrationDeltas);
    this.store.outcomes.prune();
    this.store.setWatermarkMs(this.watermark);
  }

  private applyOne(input: JoinInput, part: PartitionProgress): void {
    if (input.kind === 'decision') this.onDecision(input.decision);
    else if (input.kind === 'outcome') this.onOutcome(input.outcome);
    else this.onTruth(input.truth);
    const t = eventTimeMs(input);
    if (part.maxEventMs === null || t > part.maxEventMs) {
      part.maxEventMs = t;
      this.advance(this.partitionWatermark());
    }
  }

  private partition(source: string, partition: number): PartitionProgress {
    const key = `${source}\t${partition}`;
    let p = this.partitions.get(key);
    if (p === undefined) {
      p = { source, partition, maxEventMs: null, idle: false };
      this.partitions.set(key, p);
    }
    return p;
  }

  /** Smallest progress over partitions with records to deliver; over all of them when every one is idle. */
  private partitionWatermark(): number {
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    let active = false;
    for (const p of this.partitions.values()) {
      if (p.maxEventMs !== null && p.maxEventMs > max) max = p.maxEventMs;
      if (p.idle) continue;
      active = true;
      // A backlog not read yet: its times are unknown, so nothing may close.
      if (p.maxEventMs === null) return this.watermark;
      if (p.maxEventMs < min) min = p.maxEventMs;
    }
    return active ? min : max;
  }

  private advance(ms: number): void {
    if (ms <= this.watermark) return;
    this.watermark = ms;
    if (ms < this.nextCloseMs) return;
    for (const d of this.store.decisionsClosingBy(ms)) this.close(d);
    const expired = this.store.expireOrphans(ms);
    this.orphans -= expired;
    this.count('orphaned_outcomes', expired);
    this.nextCloseMs = this.store.nextCloseMs();
  }

  private onDecision(e: DecisionEvent): void {
    if (e.tsMs + this.closeAfterMs <= this.watermark) {
      this.count('late_decisions', 1);
      return;
    }
    if (this.store.decision(e.decisionId) !== undefined) {
      this.count('duplicate_decisions', 1);
      return;
    }
    const ds = decisionSegment(e);
    this.store.putDecision(
      {
        decision_id: e.decisionId,
        ts_ms: e.tsMs,
        region: ds.region,
        arm: ds.arm,
        model_version: ds.modelVersion,
        channel: ds.channel,
        degraded: ds.degraded,
      },
      e.tsMs + this.closeAfterMs,
    );
    this.store.outcomes.putDecision(e, e.tsMs + this.closeAfterMs);
    this.nextCloseMs = Math.min(this.nextCloseMs, e.tsMs + this.closeAfterMs);
    const armKey = `${ds.region}\t${ds.arm}`;
    const armDelta = this.armDecisionDeltas.get(armKey) ?? { region: ds.region, arm: ds.arm, n: 0 };
    armDelta.n++;
    this.armDecisionDeltas.set(armKey, armDelta);
    for (const it of e.items) {
      // Only the model side's p is a calibrated probability (online calibration reads it).
      const p = e.enforced === 'model' && it.promised ? it.pFulfill : null;
      this.store.putItem(e.decisionId, it.sku, it.promised, it.nodeType, it.hot, p);
      const c = this.delta(itemSegment(ds, it));
      c.requested++;
      if (it.promised) c.promised++;
    }
    // Outcomes and truths that arrived before their decision.
    const waiting = this.orphans === 0 ? [] : this.store.takeOrphans(e.decisionId);
    this.orphans -= waiting.length;
    for (const o of waiting) {
      if (o.kind === 'outcome') this.onOutcome(decodeOutcome(o.body));
      else this.onTruth(decodeStockTruth(o.body));
    }
  }

  private onOutcome(o: OrderOutcome): void {
    const d = this.store.decision(o.decisionId);
    if (d === undefined) {
      this.orphan(o.decisionId, o.sku, 'outcome', o.promisedAtMs, encodeOutcome(o));
      return;
    }
    if (o.resolvedAtMs > d.ts_ms + this.config.horizonMs) {
      this.count('beyond_horizon', 1);
      return;
    }
    const item = this.store.item(o.decisionId, o.sku);
    if (item === undefined || item.promised === 0) {
      this.count('unmatched_outcomes', 1);
      return;
    }
    if (item.outcome !== null) {
      this.count('duplicate_outcomes', 1);
      return;
    }
    this.store.setItemOutcome(o.decisionId, o.sku, o.status);
    this.store.outcomes.putOutcome(o);
    // Fulfilled or short-picked says whether the stock was there; cancellations say nothing about it.
    if (
      item.p !== null &&
      item.p !== undefined &&
      (o.status === 'fulfilled' || o.status === 'short-picked')
    ) {
      this.calibrationDeltas.add(
        { region: d.region, modelVersion: d.model_version },
        item.p,
        o.status === 'fulfilled',
      );
    }
    const c = this.itemDelta(d, item);
    c.outcomes++;
    if (o.status === 'fulfilled') {
      c.fulfilled++;
      if (o.onTime) c.on_time++;
    } else if (o.status === 'short-picked') c.short_picked++;
    else if (o.status === 'cancelled-buyer') c.cancelled_buyer++;
    else c.cancelled_seller++;
  }

  private onTruth(s: StockTruth): void {
    const d = this.store.decision(s.decisionId);
    if (d === undefined) {
      this.orphan(s.decisionId, s.sku, 'truth', s.decidedAtMs, encodeStockTruth(s));
      return;
    }
    const item = this.store.item(s.decisionId, s.sku);
    if (item === undefined) {
      this.count('unmatched_outcomes', 1);
      return;
    }
    if (item.truth !== null) {
      this.count('duplicate_outcomes', 1);
      return;
    }
    this.store.setItemTruth(s.decisionId, s.sku, s.available);
    const c = this.itemDelta(d, item);
    c.truth_known++;
    if (s.available) c.truth_available++;
    if (item.promised === 0) {
      c.denied_truth++;
      if (s.available) c.false_denied++;
    }
  }

  /** A record whose decision is not (yet) here: late when its window closed, else it waits. */
  private orphan(
    decisionId: string,
    sku: string,
    kind: 'outcome' | 'truth',
    decidedAtMs: number,
    body: string,
  ): void {
    const closeAt = decidedAtMs + this.closeAfterMs;
    if (closeAt <= this.watermark) {
      this.count('late_outcomes', 1);
      return;
    }
    if (!this.store.putOrphan(decisionId, sku, kind, closeAt, body)) {
      this.count('duplicate_outcomes', 1);
      return;
    }
    this.orphans++;
    this.nextCloseMs = Math.min(this.nextCloseMs, closeAt);
  }

  private close(d: PendingDecisionRow): void {
    for (const item of this.store.itemsOf(d.decision_id)) {
      if (item.promised === 1 && item.outcome === null) this.itemDelta(d, item).unresolved++;
    }
    this.store.deleteDecision(d.decision_id);
  }

  private itemDelta(d: PendingDecisionRow, item: PendingItemRow): AggregateCounts {
    const ds: DecisionSegment = {
      region: d.region,
      arm: d.arm,
      modelVersion: d.model_version,
      channel: d.channel,
      degraded: d.degraded === 'degraded' ? 'degraded' : 'healthy',
    };
    return this.delta(itemSegment(ds, { nodeType: item.node_type as ItemNodeType, hot: item.hot === 1 }));
  }

  private delta(seg: ReturnType<typeof itemSegment>): AggregateCounts {
    const key = segmentKey(seg);
    let d = this.deltas.get(key);
    if (d === undefined) {
      d = { seg: segmentValues(seg), counts: emptyCounts() };
      this.deltas.set(key, d);
    }
    return d.counts;
  }

  private count(name: JoinCounter, n: number): void {
    if (n !== 0) this.counterDeltas.set(name, (this.counterDeltas.get(name) ?? 0) + n);
  }
}

function deadLetterOf(batch: RecordBatch, r: SourceRecord, err: unknown): DeadLetter {
  const base = {
    stream: batch.stream,
    source: batch.source,
    partition: batch.partition,
    offset: r.offset,
    key: r.key,
    value: r.value,
  };
  if (err instanceof ContractError) {
    return { ...base, code: EVALUATION_ERR.MALFORMED_RECORD.code, field: err.field, reason: err.message };
  }
  const e = err instanceof AtpError ? err : toAtpError(err);
  return { ...base, code: e.code, field: e.field ?? '$', reason: e.message };
}
