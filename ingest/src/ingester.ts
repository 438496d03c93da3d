/**
 * The ingester: a consumer group on `inventory.mutations.<region>` writing
 * the regional feature store. `createIngester(ports, config)` wires the
 * ports it is handed (event source, dead-letter sink, feature store, state
 * store, logger, clock) to the batch processor and the lag reporter; it
 * builds no client itself (main.ts, the composition root, does). Nothing
 * runs until start(); stop() leaves the group after the batch in flight and
 * stops every port it started, each step bounded.
 */
import { AtpError, hasCode } from '@mercato/platform/errors';
import { settleWithin } from '@mercato/platform/lifecycle';
import { LAG_REPORT_INTERVAL_MS } from '@mercato/proto/v1/stream-lag';
import { BatchProcessor, RETRY_HEARTBEAT_EVERY_MS } from './batch-processor.js';
import type { IngesterConfig } from './ingest-config.js';
import { INGEST_ERR } from './ingest-errors.js';
import { type HealthStatus, IngestHealth } from './ingest-health.js';
import { createIngestMetrics, type IngestMetrics } from './ingest-metrics.js';
import { LagReporter } from './lag-reporter.js';
import { LagTracker } from './lag-tracker.js';
import { NodeLiveness } from './node-liveness.js';
import { PendingGaps } from './pending-gaps.js';
import type { IngestPorts, SourceStatus } from './ports.js';
import { StoreEpochKeeper } from './store-epoch-keeper.js';

/** A dead-letter producer whose brokers are gone can wait forever on its last flush: it gets this long. */
export const DEAD_LETTER_STOP_DEADLINE_MS = 10_000;

export interface IngesterOptions {
  /** Period of lag reports and liveness publication (default LAG_REPORT_INTERVAL_MS). */
  lagReportIntervalMs?: number;
}

export interface Ingester {
  readonly config: IngesterConfig;
  readonly metrics: IngestMetrics;
  /** Joins the group and starts reporting; rejects when a port cannot start (call stop() then). */
  start(): Promise<void>;
  /**
   * Idempotent. Resolves once every port stopped; rejects with
   * ATP_ERR_INGEST_STOP_TIMEOUT when a step was abandoned at its deadline
   * (after the others ran): uncommitted work then goes to the next owner.
   */
  stop(): Promise<void>;
  health(): HealthStatus;
  /** Publishes lag reports now, after an offsets refresh (tests and tools). */
  reportLag(): Promise<void>;
}

export function createIngester(
  ports: IngestPorts,
  config: IngesterConfig,
  opts: IngesterOptions = {},
): Ingester {
  const { source, deadLetters, store, state, log, clock } = ports;
  const metrics = createIngestMetrics();
  const health = new IngestHealth(metrics, clock);
  const lag = new LagTracker(config.clientId, clock);
  const liveness = new NodeLiveness();
  const gaps = new PendingGaps(store, state);
  const processor = new BatchProcessor(
    { store, deadLetters, gaps, lag, liveness, metrics, health, log, clock },
    {
      maxApplyChunkEvents: config.maxApplyChunkEvents,
      backoff: { initialMs: config.retryInitialBackoffMs, maxMs: config.retryMaxBackoffMs },
      retryHeartbeatEveryMs: Math.min(RETRY_HEARTBEAT_EVERY_MS, config.heartbeatIntervalMs),
    },
  );
  const reporter = new LagReporter({
    topic: config.topic,
    groupId: config.groupId,
    source,
    state,
    lag,
    liveness,
    metrics,
    health,
    log,
    clock,
  });
  const keeper = ports.epochs === undefined ? null : new StoreEpochKeeper({ ...ports, epochs: ports.epochs });
  let stopping: Promise<void> | null = null;

  const onStatus = (s: SourceStatus) => {
    switch (s.kind) {
      case 'assigned':
        lag.assign(s.partitions);
        liveness.retain(s.partitions);
        gaps.retain(s.partitions);
        health.setAssigned(s.partitions);
        health.up('consumer');
        log.info({ partitions: s.partitions }, 'partitions assigned');
        return;
      case 'rebalancing':
        metrics.rebalances.inc();
        return;
      case 'committed':
        lag.onCommitted(s.partition, s.offset);
        metrics.commits.inc();
        health.up('commit');
        return;
      case 'commit-failed':
        metrics.dependencyErrors.inc({ dependency: 'commit', code: INGEST_ERR.COMMIT_FAILED.code });
        health.down('commit', INGEST_ERR.COMMIT_FAILED.code, s.error.message);
        return;
      case 'crashed':
        metrics.consumerCrashes.inc({ restarting: String(s.restarting) });
        lag.assign([]);
        health.setAssigned([]);
        health.down('consumer', INGEST_ERR.BROKER_UNAVAILABLE.code, s.error.message);
        log.warn({ err: s.error.message, restarting: s.restarting }, 'consumer crashed');
        return;
      case 'stopped':
        return;
    }
  };

  const stopAll = async (): Promise<void> => {
    health.setState('stopping');
    let abandoned: AtpError | null = null;
    await keeper?.stop();
    await reporter.stop();
    try {
      await source.stop();
    } catch (err) {
      if (!hasCode(err, INGEST_ERR.STOP_TIMED_OUT)) throw err;
      abandoned = err;
    }
    // The last positions, so the sidecar sees this ingester's final lag rather than an aging report.
    await reporter.publish().catch(() => undefined);
    const dlq = await settleWithin(
      deadLetters.stop().catch(() => undefined),
      DEAD_LETTER_STOP_DEADLINE_MS,
    );
    if (dlq === 'late') {
      abandoned ??= new AtpError(
        INGEST_ERR.STOP_TIMED_OUT,
        `the dead-letter producer did not stop within ${DEAD_LETTER_STOP_DEADLINE_MS} ms`,
      );
    }
    health.setState('stopped');
    log.info({ clean: abandoned === null }, 'ingest stopped');
    if (abandoned !== null) throw abandoned;
  };

  return {
    config,
    metrics,
    health: () => health.status(),
    reportLag: async () => {
      await reporter.refreshOffsets();
      await reporter.publish();
    },
    async start() {
      health.setState('starting');
      await deadLetters.start();
      await source.start(processor.handle, onStatus);
      // The partition count must be known before the first batch is checked for misrouting.
      await reporter.refreshOffsets();
      await reporter.start(opts.lagReportIntervalMs ?? LAG_REPORT_INTERVAL_MS);
      // A store without an epoch (first start, or lost while this ingester was down) is replayed now.
      await keeper?.start();
      health.setState('running');
    },
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };
}
