/**
 * Factory of the sidecar's `ingest` mode: a consumer group on
 * `inventory.mutations.<region>` writing the regional feature store.
 * `createIngester(config)` wires the Kafka and Redis adapters (or the parts
 * a caller passes) to the batch processor; nothing connects until start(),
 * and stop() leaves the group after the batch in flight and releases
 * everything.
 */

import type { SocketFactory } from '@mercato/adapters/kafka/kafka-client';
import { createRedisClient } from '@mercato/adapters/redis/redis-client';
import { RedisFeatureStore } from '@mercato/adapters/redis/redis-feature-store';
import { RedisIngestStateStore } from '@mercato/adapters/redis/redis-stream-health';
import type { FeatureSink, IngestStateStore } from '@mercato/features/store-ports';
import { settleWithin } from '@mercato/platform/lifecycle';
import { LAG_REPORT_INTERVAL_MS } from '@mercato/proto/v1/stream-lag';
import type { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import { KafkaDeadLetterSink } from './adapters/kafka/kafka-dead-letter-sink.js';
import { KafkaEventSource, STOP_STEP_DEADLINE_MS } from './adapters/kafka/kafka-event-source.js';
import { BatchProcessor, RETRY_HEARTBEAT_EVERY_MS } from './batch-processor.js';
import type { IngestConfig } from './ingest-config.js';
import { INGEST_ERR, IngestError } from './ingest-errors.js';
import { type HealthStatus, IngestHealth } from './ingest-health.js';
import { IngestHttpServer } from './ingest-http.js';
import { createIngestMetrics, type IngestMetrics } from './ingest-metrics.js';
import { LagReporter } from './lag-reporter.js';
import { LagTracker } from './lag-tracker.js';
import { NodeLiveness } from './node-liveness.js';
import { PendingGaps } from './pending-gaps.js';
import type { DeadLetterSink, EventSource, SourceStatus } from './ports.js';

export interface IngesterParts {
  source: EventSource;
  deadLetters: DeadLetterSink;
  store: FeatureSink;
  state: IngestStateStore;
}

export interface IngesterOptions {
  logger?: Logger;
  clock?: () => number;
  /** Adapters to use instead of the Kafka / Redis ones built from the config (tests, other clients). */
  parts?: Partial<IngesterParts>;
  /** Routes broker connections (tests put cuttable proxies there). */
  socketFactory?: SocketFactory;
  lagReportIntervalMs?: number;
}

export interface Ingester {
  readonly config: IngestConfig;
  readonly metrics: IngestMetrics;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): HealthStatus;
  /** Port of the metrics/health server once started (null when disabled). */
  metricsPort(): number | null;
  /** Publishes lag reports now, after an offsets refresh (tests and tools). */
  reportLag(): Promise<void>;
}

export function createIngester(config: IngestConfig, opts: IngesterOptions = {}): Ingester {
  const log =
    opts.logger ?? pino({ level: config.logLevel, base: { component: 'ingest', region: config.region } });
  const clock = opts.clock ?? Date.now;
  const metrics = createIngestMetrics();
  const health = new IngestHealth(metrics, clock);
  const lag = new LagTracker(config.clientId, clock);
  const liveness = new NodeLiveness();
  const source =
    opts.parts?.source ??
    new KafkaEventSource({
      brokers: config.brokers,
      clientId: config.clientId,
      groupId: config.groupId,
      topic: config.topic,
      fromBeginning: config.fromBeginning,
      sessionTimeoutMs: config.sessionTimeoutMs,
      rebalanceTimeoutMs: config.rebalanceTimeoutMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
      maxBytesPerPartition: config.maxBytesPerPartition,
      maxWaitTimeMs: config.maxWaitTimeMs,
      commitIntervalMs: config.commitIntervalMs,
      logger: log,
      socketFactory: opts.socketFactory,
    });
  const deadLetters =
    opts.parts?.deadLetters ??
    new KafkaDeadLetterSink({
      brokers: config.brokers,
      clientId: config.clientId,
      topic: config.deadLetterTopic,
      logger: log,
      socketFactory: opts.socketFactory,
    });
  const http =
    config.metricsPort === null
      ? null
      : new IngestHttpServer({
          host: config.metricsHost,
          port: config.metricsPort,
          registry: metrics.registry,
          health: () => health.status(),
        });

  let redis: Redis | null = null;
  let reporter: LagReporter | null = null;

  const onStatus = (s: SourceStatus, gaps: PendingGaps) => {
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

  return {
    config,
    metrics,
    health: () => health.status(),
    metricsPort: () => (http === null ? null : http.port),
    reportLag: async () => {
      await reporter?.refreshOffsets();
      await reporter?.publish();
    },
    async start() {
      health.setState('starting');
      let store = opts.parts?.store;
      let state = opts.parts?.state;
      if (store === undefined || state === undefined) {
        try {
          redis = await createRedisClient(config.redisUrl, 'write');
        } catch (err) {
          throw new IngestError(
            INGEST_ERR.STORE_UNREACHABLE_AT_START,
            `Redis at ${config.redisUrl} is unreachable: ${(err as Error).message}`,
            'redisUrl',
            { cause: err },
          );
        }
        store ??= new RedisFeatureStore(redis, config.region);
        state ??= new RedisIngestStateStore(redis, config.region);
      }
      const gaps = new PendingGaps(store, state);
      const processor = new BatchProcessor(
        { store, deadLetters, gaps, lag, liveness, metrics, health, log, clock },
        {
          maxApplyChunkEvents: config.maxApplyChunkEvents,
          backoff: { initialMs: config.retryInitialBackoffMs, maxMs: config.retryMaxBackoffMs },
          retryHeartbeatEveryMs: Math.min(RETRY_HEARTBEAT_EVERY_MS, config.heartbeatIntervalMs),
        },
      );
      reporter = new LagReporter({
        topic: config.topic,
        source,
        state,
        lag,
        liveness,
        metrics,
        health,
        log,
        clock,
      });
      if (http !== null) await http.start();
      await deadLetters.start();
      await source.start(processor.handle, (s) => onStatus(s, gaps));
      // The partition count must be known before the first batch is checked for misrouting.
      await reporter.refreshOffsets();
      reporter.start(opts.lagReportIntervalMs ?? LAG_REPORT_INTERVAL_MS);
      health.setState('running');
      log.info(
        { topic: config.topic, groupId: config.groupId, metricsPort: http?.port ?? null },
        'ingest started',
      );
    },
    async stop() {
      health.setState('stopping');
      await reporter?.stop();
      await source.stop();
      await reporter?.publish().catch(() => undefined);
      // A producer whose brokers are gone can wait forever: bounded like the source's stop steps.
      await settleWithin(
        deadLetters.stop().catch(() => undefined),
        STOP_STEP_DEADLINE_MS,
      );
      redis?.disconnect();
      redis = null;
      await http?.stop();
      health.setState('stopped');
      log.info('ingest stopped');
    },
  };
}
