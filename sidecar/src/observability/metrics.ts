/**
 * Prometheus metrics of one sidecar (GET /metrics), on a registry of its own
 * (several sidecars in one test process must not share counters). Label
 * values are the closed sets of proto/v1/decision.ts and the error registry,
 * so cardinality is bounded; children are cached so the hot path does no
 * label hashing.
 */

import type { CheckResponse } from '@mercato/proto/v1/decision';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DecisionObserver, FeatureSource, RankFallback } from '../decision/ports.js';

/** Decision latency buckets (seconds): 50 us .. 100 ms, dense around the 2 ms target. */
export const DECISION_LATENCY_BUCKETS_S = [
  0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1,
];
export const RANKER_LATENCY_BUCKETS_S = [
  0.00001, 0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005,
];

export class SidecarMetrics implements DecisionObserver {
  readonly registry = new Registry();
  readonly decisionSeconds: Histogram<'channel'>;
  readonly decisions: Counter<'channel' | 'decision' | 'mode'>;
  readonly reasons: Counter<'channel' | 'reason'>;
  readonly degradations: Counter<'degradation'>;
  readonly rankerSeconds: Histogram;
  readonly rankerRows: Counter;
  readonly rankerFallbacks: Counter<'cause'>;
  readonly reservations: Counter<'outcome'>;
  readonly featureReads: Counter<'source'>;
  readonly hotCacheRecords: Gauge;
  readonly errors: Counter<'code' | 'edge'>;
  readonly decisionLogDropped: Counter;
  readonly decisionLogWritten: Counter;
  readonly modelInfo: Gauge<'version'>;
  /** The batch node-feature set served (1), `none` before one was loaded. */
  readonly batchFeaturesInfo: Gauge<'version'>;
  readonly batchFeaturesAgeSeconds: Gauge;
  private readonly decisionChildren = new Map<string, Counter.Internal>();
  private readonly latencyChildren = new Map<string, Histogram.Internal<'channel'>>();

  constructor(
    opts: {
      defaultMetrics?: boolean;
      hotCacheRecords?: () => number;
      /** The batch node-feature set served and its age in s (null: none loaded), read at scrape time. */
      batchFeatures?: () => { version: string; ageS: number | null };
    } = {},
  ) {
    const registers = [this.registry];
    this.decisionSeconds = new Histogram({
      name: 'atp_decision_seconds',
      help: 'Time to decide one request inside the sidecar (parsed request to answer).',
      labelNames: ['channel'],
      buckets: DECISION_LATENCY_BUCKETS_S,
      registers,
    });
    this.decisions = new Counter({
      name: 'atp_decisions_total',
      help: 'Decisions by channel, outcome and mode.',
      labelNames: ['channel', 'decision', 'mode'],
      registers,
    });
    this.reasons = new Counter({
      name: 'atp_item_reasons_total',
      help: 'Item decisions by reason code.',
      labelNames: ['channel', 'reason'],
      registers,
    });
    this.degradations = new Counter({
      name: 'atp_degradations_total',
      help: 'Requests answered with a degradation in force.',
      labelNames: ['degradation'],
      registers,
    });
    this.rankerSeconds = new Histogram({
      name: 'atp_ranker_seconds',
      help: 'Batched ranker run time per request.',
      buckets: RANKER_LATENCY_BUCKETS_S,
      registers,
    });
    this.rankerRows = new Counter({ name: 'atp_ranker_rows_total', help: 'Feature rows scored.', registers });
    this.rankerFallbacks = new Counter({
      name: 'atp_ranker_fallbacks_total',
      help: 'Requests where the rule scorer answered for the model.',
      labelNames: ['cause'],
      registers,
    });
    this.reservations = new Counter({
      name: 'atp_reservations_total',
      help: 'Soft reservation attempts by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    this.featureReads = new Counter({
      name: 'atp_feature_reads_total',
      help: 'SKU feature reads by source (cache = hot cache hit; hit rate = cache / all).',
      labelNames: ['source'],
      registers,
    });
    const records = opts.hotCacheRecords;
    this.hotCacheRecords = new Gauge({
      name: 'atp_hot_cache_records',
      help: '(sku,node) records resident in the hot cache.',
      registers,
      ...(records === undefined
        ? {}
        : {
            collect(this: Gauge) {
              this.set(records());
            },
          }),
    });
    this.errors = new Counter({
      name: 'atp_errors_total',
      help: 'Errors answered at an edge, by error code.',
      labelNames: ['code', 'edge'],
      registers,
    });
    this.decisionLogDropped = new Counter({
      name: 'atp_decision_log_dropped_total',
      help: 'Decision-log records dropped because the buffer was full or the sink failed.',
      registers,
    });
    this.decisionLogWritten = new Counter({
      name: 'atp_decision_log_written_total',
      help: 'Decision-log records handed to the sink.',
      registers,
    });
    this.modelInfo = new Gauge({
      name: 'atp_model_info',
      help: 'The model version answering (1), rules-only when none.',
      labelNames: ['version'],
      registers,
    });
    const batch = opts.batchFeatures;
    this.batchFeaturesInfo = new Gauge({
      name: 'atp_batch_features_info',
      help: 'The batch node-feature set version this sidecar serves (1); none before one was loaded.',
      labelNames: ['version'],
      registers,
      ...(batch === undefined
        ? {}
        : {
            collect(this: Gauge<'version'>) {
              this.reset();
              this.set({ version: batch().version }, 1);
            },
          }),
    });
    this.batchFeaturesAgeSeconds = new Gauge({
      name: 'atp_batch_features_age_seconds',
      help: 'Age of the batch node-feature set served (business time since the job computed it); -1 when none.',
      registers,
      ...(batch === undefined
        ? {}
        : {
            collect(this: Gauge) {
              this.set(batch().ageS ?? -1);
            },
          }),
    });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'atp_' });
  }

  decided(r: CheckResponse, latencyS: number): void {
    const key = `${r.channel}|${r.decision}|${r.mode}`;
    let c = this.decisionChildren.get(key);
    if (c === undefined) {
      c = this.decisions.labels(r.channel, r.decision, r.mode);
      this.decisionChildren.set(key, c);
    }
    c.inc();
    let h = this.latencyChildren.get(r.channel);
    if (h === undefined) {
      h = this.decisionSeconds.labels(r.channel);
      this.latencyChildren.set(r.channel, h);
    }
    h.observe(latencyS);
    for (const it of r.items)
      for (const reason of it.reasons) this.reasons.inc({ channel: r.channel, reason });
    for (const d of r.degradations) this.degradations.inc({ degradation: d });
  }

  /** This observer, with every answer also handed to `extra` (the oversell estimate reads answers too). */
  alsoTo(extra: { decided(r: CheckResponse): void }): DecisionObserver {
    return {
      decided: (r, latencyS) => {
        this.decided(r, latencyS);
        extra.decided(r);
      },
      ranked: (rows, ms) => this.ranked(rows, ms),
      rankerFallback: (cause) => this.rankerFallback(cause),
      reservation: (outcome) => this.reservation(outcome),
      featureRead: (source) => this.featureRead(source),
    };
  }

  ranked(rows: number, ms: number): void {
    this.rankerSeconds.observe(ms / 1000);
    this.rankerRows.inc(rows);
  }

  rankerFallback(cause: RankFallback): void {
    this.rankerFallbacks.inc({ cause });
  }

  reservation(outcome: 'held' | 'refused' | 'unavailable'): void {
    this.reservations.inc({ outcome });
  }

  featureRead(source: FeatureSource | 'unavailable'): void {
    this.featureReads.inc({ source });
  }

  setModel(version: string): void {
    this.modelInfo.reset();
    this.modelInfo.set({ version }, 1);
  }
}
