/**
 * Prometheus metrics of the outcome join. The figures live in the store
 * (durable, restart-safe), so the gauges read it at scrape time instead of
 * keeping counters of their own that a restart would reset: what a scrape
 * shows after a restart is what the store holds.
 */
import { Counter, createMetricsRegistry, Gauge, type Registry } from '@mercato/platform/metrics';
import { registerCalibrationMetrics } from './calibration/calibration-figures.js';
import { AGGREGATE_COLUMNS, JOIN_COUNTERS } from './join/join-counts.js';
import type { SqliteJoinStore } from './join/sqlite-join-store.js';
import { buildReport, type EvaluationRates } from './report/evaluation-report.js';

const RATE_NAMES: readonly (keyof EvaluationRates)[] = [
  'promiseRate',
  'oversellRate',
  'fulfilmentReliability',
  'conversionProxy',
  'falseDenialRate',
];

export interface EvaluationMetrics {
  registry: Registry;
  batches: Counter;
  batchFailures: Counter;
}

export function createEvaluationMetrics(store: SqliteJoinStore): EvaluationMetrics {
  const registry = createMetricsRegistry({ defaultMetrics: true, prefix: 'atp_evaluation_' });
  new Gauge({
    name: 'atp_evaluation_items',
    help: 'items per segment and count (requested, promised, short_picked, ...), from the join store',
    labelNames: ['region', 'arm', 'model_version', 'node_type', 'hotness', 'channel', 'degraded', 'count'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of store.aggregates()) {
        const seg = {
          region: r.region,
          arm: r.arm,
          model_version: r.modelVersion,
          node_type: r.nodeType,
          hotness: r.hotness,
          channel: r.channel,
          degraded: r.degraded,
        };
        for (const c of AGGREGATE_COLUMNS) this.set({ ...seg, count: c }, r[c]);
      }
    },
  });
  new Gauge({
    name: 'atp_evaluation_rate',
    help: 'rates per region x arm x model version (estimate; intervals in GET /v1/evaluation)',
    labelNames: ['region', 'arm', 'model_version', 'rate'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of buildReport(store).totals) {
        for (const name of RATE_NAMES) {
          const v = t.rates[name].rate;
          if (v !== null)
            this.set({ region: t.region, arm: t.arm, model_version: t.modelVersion, rate: name }, v);
        }
      }
    },
  });
  new Gauge({
    name: 'atp_evaluation_records',
    help: 'records by what the join did with them (applied, replayed, dead_lettered, duplicates, late, ...)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      const c = store.counters();
      for (const name of JOIN_COUNTERS) this.set({ outcome: name }, c[name]);
    },
  });
  new Gauge({
    name: 'atp_evaluation_pending_decisions',
    help: 'decisions whose window is open',
    registers: [registry],
    collect() {
      this.set(store.pendingDecisions());
    },
  });
  new Gauge({
    name: 'atp_evaluation_watermark_ms',
    help: 'largest event time applied (ms since epoch)',
    registers: [registry],
    collect() {
      this.set(store.watermarkMs());
    },
  });
  registerCalibrationMetrics(registry, store);
  const batches = new Counter({
    name: 'atp_evaluation_batches_total',
    help: 'batches applied by this process',
    registers: [registry],
  });
  const batchFailures = new Counter({
    name: 'atp_evaluation_batch_failures_total',
    help: 'batches that failed (re-delivered)',
    registers: [registry],
  });
  return { registry, batches, batchFailures };
}
