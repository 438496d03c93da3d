/**
 * What the ingester does with one fetched batch of one partition:
 *
 * 1. decode every record at the edge (decode-message.ts); records that are
 *    not valid events become dead letters;
 * 2. make the batch durable: dead letters acknowledged by the DLQ topic, then
 *    events applied to the feature store in chunks (a heartbeat between
 *    chunks), then pending-gap marks recorded and expired gaps flushed;
 *    every step is retried with bounded backoff until it is acknowledged,
 *    with heartbeats while waiting, and the ingester reports unhealthy;
 * 3. only then commit the offset after the batch's last record (the source
 *    may coalesce commits; it never commits what was not acknowledged here).
 *
 * If the partition is revoked or the ingester stops while a step is being
 * retried, the batch is abandoned uncommitted; its records are re-delivered
 * (to this or another ingester) and applied again, which is harmless because
 * applying is idempotent (event sequence per (sku,node), CAS writes).
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import type { FeatureSink } from '@mercato/features/store-ports';
import type { ErrorSpec } from '@mercato/platform/errors';
import type { Logger } from '@mercato/platform/logger';
import { HEARTBEAT_SKU, type InventoryEvent, type Source } from '@mercato/proto/v1/inventory-event';
import { nextOffset } from '@mercato/proto/v1/stream-lag';
import { decodeMessage } from './decode-message.js';
import { FRESHNESS_SLO_MS_BY_SOURCE } from './freshness-slo.js';
import { dependencyCodeOf, INGEST_ERR } from './ingest-errors.js';
import type { Component, IngestHealth } from './ingest-health.js';
import type { IngestMetrics } from './ingest-metrics.js';
import type { LagTracker } from './lag-tracker.js';
import type { NodeLiveness } from './node-liveness.js';
import type { PendingGaps } from './pending-gaps.js';
import type { BatchControl, DeadLetter, DeadLetterSink, SourceBatch } from './ports.js';
import { Backoff, type BackoffOptions } from './retry-backoff.js';

/** Events per applyEvents call: bounds one Redis pipeline and the time between two heartbeats. */
export const MAX_APPLY_CHUNK_EVENTS = 2_000;
/** While waiting to retry, a heartbeat goes out at least this often (well under any session timeout). */
export const RETRY_HEARTBEAT_EVERY_MS = 1_000;
/** A failing dependency is logged on its first failure and then every this many attempts. */
const LOG_EVERY_ATTEMPTS = 20;

export interface BatchProcessorOptions {
  maxApplyChunkEvents: number;
  backoff: BackoffOptions;
  retryHeartbeatEveryMs: number;
}

export interface BatchProcessorDeps {
  store: FeatureSink;
  deadLetters: DeadLetterSink;
  gaps: PendingGaps;
  lag: LagTracker;
  liveness: NodeLiveness;
  metrics: IngestMetrics;
  health: IngestHealth;
  log: Logger;
  clock: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Returned by `durably` when the batch was abandoned (revoked or stopping). */
const ABANDONED = Symbol('abandoned');

export class BatchProcessor {
  private readonly sleep: (ms: number) => Promise<void>;
  /** Label-bound histogram children: observed once per event, so no label lookup per call. */
  private readonly ageBySource: Record<Source, { observe(v: number): void }>;

  constructor(
    private readonly deps: BatchProcessorDeps,
    private readonly opts: BatchProcessorOptions,
  ) {
    this.sleep = deps.sleep ?? ((ms) => sleepMs(ms));
    this.ageBySource = {
      'first-party': deps.metrics.eventAge.labels({ source: 'first-party' }),
      'third-party': deps.metrics.eventAge.labels({ source: 'third-party' }),
    };
  }

  /** The EventSource's batch handler. */
  readonly handle = async (batch: SourceBatch, control: BatchControl): Promise<void> => {
    const { metrics, lag, gaps } = this.deps;
    const startedMs = this.deps.clock();
    const last = batch.messages[batch.messages.length - 1];
    if (last === undefined) return;
    lag.onBatch(batch.partition, batch.highWatermark);

    const events: InventoryEvent[] = [];
    const letters: DeadLetter[] = [];
    const partitionCount = lag.partitionCount;
    for (const m of batch.messages) {
      const d = decodeMessage(m, batch.partition, partitionCount);
      if (d.ok) {
        events.push(d.event);
        if (d.misroute !== 'none') metrics.misrouted.inc({ reason: d.misroute });
        continue;
      }
      letters.push({
        key: m.key,
        value: m.value,
        code: d.reason.code,
        field: d.reason.field,
        reason: d.reason.message,
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        timestampMs: m.timestampMs,
      });
    }

    if (letters.length > 0) {
      const sent = await this.durably(control, 'dead_letters', INGEST_ERR.DEAD_LETTER_UNAVAILABLE, () =>
        this.deps.deadLetters.send(letters),
      );
      if (sent === ABANDONED) return;
      for (const l of letters) metrics.deadLetters.inc({ code: l.code });
      metrics.messages.inc({ outcome: 'dead_letter' }, letters.length);
    }

    if (
      (await this.durably(control, 'store', INGEST_ERR.STORE_UNAVAILABLE, () =>
        gaps.load(batch.partition),
      )) === ABANDONED
    ) {
      return;
    }
    const chunk = this.opts.maxApplyChunkEvents;
    for (let i = 0; i < events.length; i += chunk) {
      const part = events.slice(i, i + chunk);
      const touched = new Set<string>();
      for (const e of part) if (e.sku !== HEARTBEAT_SKU) touched.add(e.sku);
      const report = await this.durably(control, 'store', INGEST_ERR.STORE_UNAVAILABLE, async () => {
        const r = await this.deps.store.applyEvents(part);
        await gaps.afterApply(batch.partition, touched, r.skusWithPending);
        return r;
      });
      if (report === ABANDONED) return;
      // Counted as soon as the store acknowledged, whether or not the batch gets committed: a
      // re-delivered batch then shows up as duplicates, never as a second application.
      metrics.events.inc({ result: 'applied' }, report.applied);
      metrics.events.inc({ result: 'duplicate' }, report.duplicates);
      metrics.events.inc({ result: 'heartbeat' }, report.heartbeats);
      metrics.gapsSkipped.inc(report.gapsSkipped);
      // A batch of many chunks can outlast a session timeout without this.
      if (i + chunk < events.length) await control.heartbeat();
    }
    for (const e of events) gaps.observe(batch.partition, e.eventTimeMs);
    const flushed = await this.durably(control, 'store', INGEST_ERR.STORE_UNAVAILABLE, () =>
      gaps.maybeFlush(batch.partition),
    );
    if (flushed === ABANDONED) return;
    const visibleAtMs = this.deps.clock();
    metrics.messages.inc({ outcome: 'event' }, events.length);
    metrics.gapsSkipped.inc(flushed);
    const newestEventAgeMs = this.observeFreshness(batch.partition, events, visibleAtMs);
    lag.onApplied(batch.partition, nextOffset(last.offset), last.timestampMs, newestEventAgeMs);

    try {
      await control.commit(last.offset);
    } catch (err) {
      metrics.dependencyErrors.inc({ dependency: 'commit', code: INGEST_ERR.COMMIT_FAILED.code });
      this.deps.health.down('commit', INGEST_ERR.COMMIT_FAILED.code, messageOf(err));
      throw err;
    }
    this.deps.health.up('commit');
    metrics.batches.inc();
    metrics.batchDuration.observe((this.deps.clock() - startedMs) / 1000);
  };

  /**
   * Event-time age at the moment the batch's writes were acknowledged, per
   * event, against its source's freshness objective. Returns the age of the
   * newest event (-1 when there was none).
   */
  private observeFreshness(
    partition: number,
    events: readonly InventoryEvent[],
    visibleAtMs: number,
  ): number {
    const { metrics, liveness } = this.deps;
    let newest = Number.NEGATIVE_INFINITY;
    let firstParty = 0;
    let thirdParty = 0;
    let firstLate = 0;
    let thirdLate = 0;
    const firstPartyAge = this.ageBySource['first-party'];
    const thirdPartyAge = this.ageBySource['third-party'];
    for (const e of events) {
      const ageMs = Math.max(0, visibleAtMs - e.eventTimeMs);
      (e.source === 'first-party' ? firstPartyAge : thirdPartyAge).observe(ageMs / 1000);
      const late = ageMs > FRESHNESS_SLO_MS_BY_SOURCE[e.source] ? 1 : 0;
      if (e.source === 'first-party') {
        firstParty++;
        firstLate += late;
      } else {
        thirdParty++;
        thirdLate += late;
      }
      if (e.eventTimeMs > newest) newest = e.eventTimeMs;
      if (e.kind === 'heartbeat') liveness.observe(partition, e.node, e.source, e.eventTimeMs);
    }
    if (firstParty > 0) {
      metrics.freshnessEvents.inc({ source: 'first-party' }, firstParty);
      if (firstLate > 0) metrics.freshnessViolations.inc({ source: 'first-party' }, firstLate);
    }
    if (thirdParty > 0) {
      metrics.freshnessEvents.inc({ source: 'third-party' }, thirdParty);
      if (thirdLate > 0) metrics.freshnessViolations.inc({ source: 'third-party' }, thirdLate);
    }
    return events.length === 0 ? -1 : Math.max(0, visibleAtMs - newest);
  }

  /**
   * Runs `step` until it succeeds, backing off between attempts and keeping
   * the group membership alive; ABANDONED when the batch is no longer ours.
   */
  private async durably<T>(
    control: BatchControl,
    component: Component,
    spec: ErrorSpec,
    step: () => Promise<T>,
  ): Promise<T | typeof ABANDONED> {
    const { metrics, health, log } = this.deps;
    let backoff: Backoff | null = null;
    for (;;) {
      if (!control.isActive()) return ABANDONED;
      try {
        const value = await step();
        health.up(component);
        if (backoff !== null) log.info({ component, attempts: backoff.attempts }, 'dependency answers again');
        return value;
      } catch (err) {
        const code = dependencyCodeOf(err, spec);
        metrics.dependencyErrors.inc({ dependency: component, code });
        metrics.batchRetries.inc({ code });
        health.down(component, code, messageOf(err));
        backoff ??= new Backoff(this.opts.backoff);
        if (backoff.attempts % LOG_EVERY_ATTEMPTS === 0) {
          log.warn(
            { component, code, attempts: backoff.attempts, err: messageOf(err) },
            'write not acknowledged; retrying, not committing',
          );
        }
        await this.pause(control, backoff.next());
      }
    }
  }

  /** Sleeps `ms`, heartbeating at least every retryHeartbeatEveryMs; returns early when the batch is abandoned. */
  private async pause(control: BatchControl, ms: number): Promise<void> {
    let left = ms;
    while (left > 0 && control.isActive()) {
      const slice = Math.min(left, this.opts.retryHeartbeatEveryMs);
      await this.sleep(slice);
      left -= slice;
      if (control.isActive()) await control.heartbeat();
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
