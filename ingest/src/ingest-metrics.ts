/**
 * Prometheus metrics of the ingester, in a registry of its own (never the
 * global default, so two ingesters in one process, as in tests, do not
 * collide). Names are `atp_ingest_*`; error codes from ingest-errors.ts are
 * the `code` labels.
 *
 * Alert-grade series:
 * - `atp_ingest_freshness_slo_violations_total{source}` over
 *   `atp_ingest_freshness_events_total{source}`: share of events that became
 *   visible later than `atp_ingest_freshness_slo_seconds{source}` after their
 *   event time (first-party 5 s, third-party 60 s);
 * - `atp_ingest_consumer_lag_seconds{partition}` and `atp_ingest_healthy`.
 *
 * Autoscaling signal: `atp_ingest_group_lag_records{group,topic}`, the
 * group's records not yet committed over every partition of the topic, the
 * same on every member (see lag-reporter.ts). Scale on
 * `max(atp_ingest_group_lag_records{group="atp-ingest-<region>"})` (e.g. a
 * KEDA ScaledObject with a Prometheus trigger, threshold = the lag one pod
 * absorbs within the freshness objective), capped at the partition count.
 */

import { Counter, createMetricsRegistry, Gauge, Histogram, type Registry } from '@mercato/platform/metrics';
import { SOURCES } from '@mercato/proto/v1/inventory-event';
import { FRESHNESS_SLO_MS_BY_SOURCE } from './freshness-slo.js';

/** Event age buckets (s): sub-second for first-party, up to minutes for sellers and backlogs. */
export const EVENT_AGE_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600];
export const BATCH_DURATION_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30];

export interface IngestMetrics {
  readonly registry: Registry;
  messages: Counter<'outcome'>;
  events: Counter<'result'>;
  gapsSkipped: Counter<string>;
  deadLetters: Counter<'code'>;
  misrouted: Counter<'reason'>;
  batches: Counter<string>;
  batchRetries: Counter<'code'>;
  dependencyErrors: Counter<'dependency' | 'code'>;
  commits: Counter<string>;
  batchDuration: Histogram<string>;
  consumerLagMessages: Gauge<'partition'>;
  consumerLagSeconds: Gauge<'partition'>;
  groupLagRecords: Gauge<'group' | 'topic'>;
  eventAge: Histogram<'source'>;
  freshnessSlo: Gauge<'source'>;
  freshnessEvents: Counter<'source'>;
  freshnessViolations: Counter<'source'>;
  heartbeatAgeMax: Gauge<'source'>;
  staleNodes: Gauge<'source'>;
  nodesTracked: Gauge<'source'>;
  healthy: Gauge<string>;
  componentUp: Gauge<'component'>;
  assignedPartitions: Gauge<string>;
  rebalances: Counter<string>;
  consumerCrashes: Counter<'restarting'>;
}

/** Prefix of the process metrics (GC, heap, event loop) collected beside the ingester's own. */
export const PROCESS_METRICS_PREFIX = 'atp_ingest_';

export function createIngestMetrics(): IngestMetrics {
  const registry = createMetricsRegistry({ defaultMetrics: true, prefix: PROCESS_METRICS_PREFIX });
  const r = [registry];
  const m: IngestMetrics = {
    registry,
    messages: new Counter({
      name: 'atp_ingest_messages_total',
      help: 'Messages consumed, by outcome (event = decoded and applied, dead_letter = sent to the DLQ)',
      labelNames: ['outcome'],
      registers: r,
    }),
    events: new Counter({
      name: 'atp_ingest_events_total',
      help: 'Events acknowledged by the feature store, by result (applied in sequence, duplicate dropped, heartbeat)',
      labelNames: ['result'],
      registers: r,
    }),
    gapsSkipped: new Counter({
      name: 'atp_ingest_gaps_skipped_total',
      help: 'Sequence gaps given up on (events presumed lost) after the gap timeout',
      registers: r,
    }),
    deadLetters: new Counter({
      name: 'atp_ingest_dead_letters_total',
      help: 'Messages sent to the dead-letter topic, by error code',
      labelNames: ['code'],
      registers: r,
    }),
    misrouted: new Counter({
      name: 'atp_ingest_misrouted_total',
      help: 'Valid events applied although keyed or partitioned against the contract (key = sku, murmur2)',
      labelNames: ['reason'],
      registers: r,
    }),
    batches: new Counter({
      name: 'atp_ingest_batches_total',
      help: 'Batches applied and committed',
      registers: r,
    }),
    batchRetries: new Counter({
      name: 'atp_ingest_batch_retries_total',
      help: 'Retries of a batch whose writes were not acknowledged, by error code',
      labelNames: ['code'],
      registers: r,
    }),
    dependencyErrors: new Counter({
      name: 'atp_ingest_dependency_errors_total',
      help: 'Failed calls to a dependency, by dependency and error code',
      labelNames: ['dependency', 'code'],
      registers: r,
    }),
    commits: new Counter({
      name: 'atp_ingest_commits_total',
      help: 'Offset commits acknowledged by the group coordinator',
      registers: r,
    }),
    batchDuration: new Histogram({
      name: 'atp_ingest_batch_duration_seconds',
      help: 'Time from receiving a batch to its commit, retries included',
      buckets: BATCH_DURATION_BUCKETS_S,
      registers: r,
    }),
    consumerLagMessages: new Gauge({
      name: 'atp_ingest_consumer_lag_messages',
      help: 'High watermark minus committed offset, per owned partition',
      labelNames: ['partition'],
      registers: r,
    }),
    consumerLagSeconds: new Gauge({
      name: 'atp_ingest_consumer_lag_seconds',
      help: 'Age of the committed position behind the log end, per owned partition (0 when caught up)',
      labelNames: ['partition'],
      registers: r,
    }),
    groupLagRecords: new Gauge({
      name: 'atp_ingest_group_lag_records',
      help: 'Records of the topic the consumer group has not committed, over all partitions (autoscaling signal; same on every member)',
      labelNames: ['group', 'topic'],
      registers: r,
    }),
    eventAge: new Histogram({
      name: 'atp_ingest_event_age_seconds',
      help: 'Event time to visible in the feature store (write acknowledged), by source',
      labelNames: ['source'],
      buckets: EVENT_AGE_BUCKETS_S,
      registers: r,
    }),
    freshnessSlo: new Gauge({
      name: 'atp_ingest_freshness_slo_seconds',
      help: 'Freshness objective per source: event time to visible-in-decision',
      labelNames: ['source'],
      registers: r,
    }),
    freshnessEvents: new Counter({
      name: 'atp_ingest_freshness_events_total',
      help: 'Events measured against the freshness objective, by source',
      labelNames: ['source'],
      registers: r,
    }),
    freshnessViolations: new Counter({
      name: 'atp_ingest_freshness_slo_violations_total',
      help: 'Events visible later than the freshness objective of their source',
      labelNames: ['source'],
      registers: r,
    }),
    heartbeatAgeMax: new Gauge({
      name: 'atp_ingest_node_heartbeat_age_max_seconds',
      help: 'Oldest last-heartbeat age among nodes whose heartbeats this ingester owns, by source',
      labelNames: ['source'],
      registers: r,
    }),
    staleNodes: new Gauge({
      name: 'atp_ingest_stale_nodes',
      help: 'Nodes whose last heartbeat is older than the staleness limit of their source',
      labelNames: ['source'],
      registers: r,
    }),
    nodesTracked: new Gauge({
      name: 'atp_ingest_nodes_tracked',
      help: 'Nodes whose heartbeats this ingester has seen on its partitions, by source',
      labelNames: ['source'],
      registers: r,
    }),
    healthy: new Gauge({
      name: 'atp_ingest_healthy',
      help: '1 when consuming and every dependency answers, else 0',
      registers: r,
    }),
    componentUp: new Gauge({
      name: 'atp_ingest_component_up',
      help: '1 when the dependency answered its last call, else 0',
      labelNames: ['component'],
      registers: r,
    }),
    assignedPartitions: new Gauge({
      name: 'atp_ingest_assigned_partitions',
      help: 'Partitions assigned to this ingester',
      registers: r,
    }),
    rebalances: new Counter({
      name: 'atp_ingest_rebalances_total',
      help: 'Group rebalances this ingester took part in',
      registers: r,
    }),
    consumerCrashes: new Counter({
      name: 'atp_ingest_consumer_crashes_total',
      help: 'Consumer crashes, by whether the consumer restarted',
      labelNames: ['restarting'],
      registers: r,
    }),
  };
  for (const s of SOURCES) m.freshnessSlo.set({ source: s }, FRESHNESS_SLO_MS_BY_SOURCE[s] / 1000);
  return m;
}

/** Sum of a counter's or gauge's samples whose labels include `labels` (tests and tools). */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const data = await metric.get();
  let sum = 0;
  for (const v of data.values) {
    const l = v.labels as Record<string, string | number>;
    if (Object.entries(labels).every(([k, want]) => String(l[k]) === want)) {
      // Histograms expose _bucket/_sum/_count series; only plain samples are summed.
      const series = (v as { metricName?: string }).metricName;
      if (series !== undefined && series !== name) continue;
      sum += v.value;
    }
  }
  return sum;
}
