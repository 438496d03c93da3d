/**
 * The second composition root of the ingest service, beside main.ts: the
 * REAL ingest domain (createIngester: decode, dead letters, sequenced apply,
 * gaps, commits, lag reports) wired to in-process adapters instead of Kafka
 * and Redis. `npm start` runs the whole system in production shape on these
 * embedded defaults:
 *
 *   simulator --send--> MemoryEventLog --MemoryEventSource--> ingester
 *     --FeatureSink--> MemoryFeatureStore --FeatureReader--> sidecar
 *     (lag: ingester --IngestStateStore--> MemoryIngestState --StreamHealth--> sidecar)
 *
 * The caller owns the log and the stores (it hands the same objects to the
 * sidecar) and gets back a started Ingester to stop.
 */
import type { MemoryEventLog } from '@mercato/adapters/memory/memory-event-log';
import type { FeatureSink, IngestStateStore } from '@mercato/features/store-ports';
import { type Logger, silentLogger } from '@mercato/platform/logger';
import { deadLetterTopic, mutationsTopic } from '@mercato/proto/v1/topics';
import { MemoryDeadLetterSink } from './adapters/memory/memory-dead-letter-sink.js';
import { MemoryEventSource } from './adapters/memory/memory-event-source.js';
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_APPLY_CHUNK_EVENTS,
  type IngesterConfig,
} from './ingest-config.js';
import { createIngester, type Ingester, type IngesterOptions } from './ingester.js';
import type { StoreEpochs } from './ports.js';
import { RETRY_INITIAL_BACKOFF_MS, RETRY_MAX_BACKOFF_MS } from './retry-backoff.js';

export interface EmbeddedIngestOptions extends IngesterOptions {
  region: string;
  /** The in-process log the simulator (or a test) produces to. */
  log: MemoryEventLog;
  /** Usually a MemoryFeatureStore the sidecar of the same process reads. */
  featureSink: FeatureSink;
  /** Usually a MemoryIngestState the sidecar reads lag from. */
  stateStore: IngestStateStore;
  /** The feature store's epoch, when it can lose its state (a Redis store); absent: not watched. */
  epochs?: StoreEpochs;
  logger?: Logger;
  clock?: () => number;
  /** Defaults: atp-ingest-<region>, atp-ingest-<region>-embedded, inventory.mutations.<region>. */
  groupId?: string;
  clientId?: string;
  topic?: string;
  /** Partitions of the topic when it does not exist yet (default: the log's default). */
  partitions?: number;
  /** A new group starts at the log start (default true: the store needs the whole log). */
  fromBeginning?: boolean;
  maxBatchRecords?: number;
}

export interface EmbeddedIngest extends Ingester {
  /** Dead letters, kept in memory (the embedded system has no DLQ consumer). */
  readonly deadLetters: MemoryDeadLetterSink;
}

/** Builds the memory ports, hands them to the ingest domain and starts it. */
export async function startEmbeddedIngest(opts: EmbeddedIngestOptions): Promise<EmbeddedIngest> {
  const topic = opts.topic ?? mutationsTopic(opts.region);
  const config: IngesterConfig = {
    region: opts.region,
    topic,
    groupId: opts.groupId ?? `atp-ingest-${opts.region}`,
    clientId: opts.clientId ?? `atp-ingest-${opts.region}-embedded`,
    heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
    maxApplyChunkEvents: DEFAULT_MAX_APPLY_CHUNK_EVENTS,
    retryInitialBackoffMs: RETRY_INITIAL_BACKOFF_MS,
    retryMaxBackoffMs: RETRY_MAX_BACKOFF_MS,
  };
  if (opts.partitions !== undefined) opts.log.createTopic(topic, opts.partitions);
  const log = (opts.logger ?? silentLogger()).child({ component: 'ingest', region: opts.region });
  const deadLetters = new MemoryDeadLetterSink(opts.log, deadLetterTopic(topic));
  const source = new MemoryEventSource({
    log: opts.log,
    topic,
    groupId: config.groupId,
    clientId: config.clientId,
    fromBeginning: opts.fromBeginning ?? true,
    maxBatchRecords: opts.maxBatchRecords,
  });
  const ingester = createIngester(
    {
      source,
      deadLetters,
      store: opts.featureSink,
      ...(opts.epochs === undefined ? {} : { epochs: opts.epochs }),
      state: opts.stateStore,
      log,
      clock: opts.clock ?? Date.now,
    },
    config,
    opts,
  );
  try {
    await ingester.start();
  } catch (err) {
    await ingester.stop().catch(() => undefined);
    throw err;
  }
  log.info({ topic, groupId: config.groupId }, 'embedded ingest started');
  return Object.assign(ingester, { deadLetters });
}
