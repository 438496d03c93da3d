/**
 * The ingest service's entry and its one composition root:
 *
 *   node --import tsx ingest/src/main.ts \
 *     --brokers 127.0.0.1:9092 --redis redis://127.0.0.1:6379 --region eu-west
 *
 * It validates the flags (errors name the flag), builds the clients and the
 * adapters (ioredis, RedisFeatureStore, RedisIngestStateStore,
 * KafkaEventSource, KafkaDeadLetterSink, logger, metrics/health server),
 * hands them to the domain as ports (`createIngester(ports, config)`), and
 * runs until SIGTERM or SIGINT, when it commits what it applied, leaves the
 * group and exits. Exit codes (platform flags): EXIT_OK; EXIT_USAGE = bad
 * flags; EXIT_FAILED = could not start; EXIT_STOP_TIMED_OUT = the stop did
 * not finish within STOP_DEADLINE_MS, or a step of it was abandoned
 * (whatever was not committed is re-delivered to the next owner).
 */
import { readFileSync } from 'node:fs';
import type { SocketFactory } from '@mercato/adapters/kafka/kafka-client';
import {
  KAFKA_SECURITY_OPTIONS,
  parseKafkaSecurityFlags,
  type RawKafkaSecurityFlags,
} from '@mercato/adapters/kafka/kafka-security';
import { connectRedis, type RedisClient } from '@mercato/adapters/redis/redis-client';
import { RedisFeatureStore } from '@mercato/adapters/redis/redis-feature-store';
import { RedisStoreEpochs } from '@mercato/adapters/redis/redis-store-epoch';
import { RedisIngestStateStore } from '@mercato/adapters/redis/redis-stream-health';
import { parseRedisUrl, redactRedisUrl } from '@mercato/adapters/redis/redis-url';
import { loadRegionRegistry } from '@mercato/adapters/regions/region-registry-file';
import type { FeatureSink, IngestStateStore } from '@mercato/features/store-ports';
import { type Clock, clockFrom } from '@mercato/platform/clock';
import { AtpError, COMMON_ERR, errorLine, hasCode, toAtpError } from '@mercato/platform/errors';
import {
  type Command,
  createProgram,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_STOP_TIMED_OUT,
  EXIT_USAGE,
  flagError,
  intFlag,
  listFlag,
  onAction,
  oneOfFlag,
  parsedFlag,
  portFlag,
  requiredFlag,
  runProgram,
} from '@mercato/platform/flags';
import { settleWithin, waitForStopSignal } from '@mercato/platform/lifecycle';
import { createLogger, type Logger } from '@mercato/platform/logger';
import { runMain } from '@mercato/platform/run-main';
import type { RegionRegistry } from '@mercato/proto/v1/region-registry';
import { KafkaDeadLetterSink } from './adapters/kafka/kafka-dead-letter-sink.js';
import { KafkaEventSource } from './adapters/kafka/kafka-event-source.js';
import {
  DEFAULT_COMMIT_INTERVAL_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_LOG_LEVEL,
  DEFAULT_MAX_APPLY_CHUNK_EVENTS,
  DEFAULT_MAX_WAIT_TIME_MS,
  DEFAULT_METRICS_HOST,
  DEFAULT_METRICS_PORT,
  DEFAULT_PARTITIONS_CONSUMED_CONCURRENTLY,
  DEFAULT_SESSION_TIMEOUT_MS,
  type IngestConfig,
  LIMITS,
  LOG_LEVELS,
  validateIngestConfig,
} from './ingest-config.js';
import { INGEST_ERR } from './ingest-errors.js';
import { IngestHttpServer } from './ingest-http-server.js';
import { createIngester, type Ingester, type IngesterOptions } from './ingester.js';
import type { IngestPorts } from './ports.js';

/** A graceful stop (finish the batch in flight, commit, leave the group) gets this long; then the process exits anyway. */
export const STOP_DEADLINE_MS = 25_000;
/** `--metrics-port off`: no metrics/health server. */
export const METRICS_OFF = 'off';

// ---- flags -------------------------------------------------------------------------------------

/** The flags as commander reads them: raw strings, validated by configFromFlags. */
export interface RawIngestFlags extends RawKafkaSecurityFlags {
  brokers?: string;
  redis?: string;
  region?: string;
  regionsFile?: string;
  groupId?: string;
  clientId?: string;
  topic?: string;
  dlqTopic?: string;
  fromLatest?: boolean;
  sessionTimeoutMs?: string;
  heartbeatIntervalMs?: string;
  concurrency?: string;
  maxApplyChunk?: string;
  maxWaitMs?: string;
  commitIntervalMs?: string;
  metricsPort?: string;
  metricsHost?: string;
  logLevel?: string;
  worldClock?: string;
}

/** Config field -> the flag that sets it, so validation errors name what the user typed. */
const FLAG_OF: Readonly<Record<string, string>> = {
  brokers: '--brokers',
  redisUrl: '--redis',
  region: '--region',
  groupId: '--group-id',
  clientId: '--client-id',
  topic: '--topic',
  deadLetterTopic: '--dlq-topic',
  sessionTimeoutMs: '--session-timeout-ms',
  heartbeatIntervalMs: '--heartbeat-interval-ms',
  partitionsConsumedConcurrently: '--concurrency',
  maxApplyChunkEvents: '--max-apply-chunk',
  maxWaitTimeMs: '--max-wait-ms',
  commitIntervalMs: '--commit-interval-ms',
  metricsPort: '--metrics-port',
  metricsHost: '--metrics-host',
  logLevel: '--log-level',
};

/** The `ingest` command line (no action attached). */
export function ingestProgram(): Command {
  return createProgram('ingest', 'consume inventory.mutations.<region> into the regional feature store')
    .option('--brokers <list>', 'bootstrap brokers, host:port[,...] (required)')
    .option(...KAFKA_SECURITY_OPTIONS[0]!)
    .option(...KAFKA_SECURITY_OPTIONS[1]!)
    .option(...KAFKA_SECURITY_OPTIONS[2]!)
    .option(...KAFKA_SECURITY_OPTIONS[3]!)
    .option(...KAFKA_SECURITY_OPTIONS[4]!)
    .option(
      '--redis <url>',
      'regional feature store: redis://host:port[/db], or a Redis Cluster as redis+cluster://host:port[,host:port...] (required)',
    )
    .option(
      '--region <name>',
      'region; topic = inventory.mutations.<region> (required, known to the registry)',
    )
    .option(
      '--regions-file <file>',
      'region registry to validate --region, --topic, --brokers and --redis against ({"regions": [...]}); default: eu-central, eu-west, us-east',
    )
    .option('--group-id <id>', 'consumer group (default atp-ingest-<region>)')
    .option('--client-id <id>', 'client id (default atp-ingest-<region>-<pid>)')
    .option('--topic <name>', "override the topic (must be this region's: ends in .<region>)")
    .option('--dlq-topic <name>', 'override the dead-letter topic (default <topic>.dlq)')
    .option('--from-latest', 'a new group starts at the log end instead of the beginning')
    .option('--session-timeout-ms <n>', `group session timeout (default ${DEFAULT_SESSION_TIMEOUT_MS})`)
    .option(
      '--heartbeat-interval-ms <n>',
      `(default ${DEFAULT_HEARTBEAT_INTERVAL_MS}, at most a third of the session timeout)`,
    )
    .option(
      '--concurrency <n>',
      `partitions processed at once (default ${DEFAULT_PARTITIONS_CONSUMED_CONCURRENTLY})`,
    )
    .option(
      '--max-apply-chunk <n>',
      `events per feature-store write (default ${DEFAULT_MAX_APPLY_CHUNK_EVENTS})`,
    )
    .option('--max-wait-ms <n>', `longest a fetch waits for data (default ${DEFAULT_MAX_WAIT_TIME_MS})`)
    .option(
      '--commit-interval-ms <n>',
      `least time between two commits of a partition (default ${DEFAULT_COMMIT_INTERVAL_MS}; 0 = every batch)`,
    )
    .option(
      '--metrics-port <n|off>',
      `metrics and health HTTP port (default ${DEFAULT_METRICS_PORT}; 0 = any free port)`,
    )
    .option(
      '--metrics-host <host>',
      `address the metrics/health server binds (default ${DEFAULT_METRICS_HOST}; 0.0.0.0 exposes it, e.g. in a pod)`,
    )
    .option('--log-level <level>', `${LOG_LEVELS.join('|')} (default ${DEFAULT_LOG_LEVEL})`)
    .option(
      '--world-clock <spec>',
      'run on a closed-loop world clock <simEpochMs>@<wallEpochMs>x<speed> (lag and event ages in world time); default: the wall clock',
    );
}

/**
 * The business clock of `--world-clock` (absent: the wall clock). Event ages
 * and lag are measured against it: a world's events carry simulated Kafka
 * timestamps, which the wall clock would read as hours old.
 */
export function clockFromFlags(f: Pick<RawIngestFlags, 'worldClock'>): Clock {
  try {
    return f.worldClock === undefined
      ? clockFrom(undefined)
      : parsedFlag(f.worldClock, '--world-clock', clockFrom);
  } catch (err) {
    throw namingTheFlag(err);
  }
}

/** Validates raw flags into a config; throws ATP_ERR_INGEST_CONFIG naming the flag. */
export function configFromFlags(f: RawIngestFlags): IngestConfig {
  try {
    return validateIngestConfig({
      brokers: listFlag(
        requiredFlag(f.brokers, '--brokers', 'bootstrap brokers, host:port[,...]'),
        '--brokers',
      ),
      redisUrl: parsedFlag(
        requiredFlag(f.redis, '--redis', 'the regional feature store, redis://host:port'),
        '--redis',
        (raw) => {
          parseRedisUrl(raw);
          return raw;
        },
      ),
      region: requiredFlag(f.region, '--region', 'the region, e.g. eu-west'),
      registry: regionsFileFlag(f.regionsFile),
      groupId: f.groupId,
      clientId: f.clientId,
      topic: f.topic,
      deadLetterTopic: f.dlqTopic,
      fromBeginning: f.fromLatest !== true,
      sessionTimeoutMs: intFlag(f.sessionTimeoutMs, '--session-timeout-ms', LIMITS.sessionTimeoutMs),
      heartbeatIntervalMs: intFlag(
        f.heartbeatIntervalMs,
        '--heartbeat-interval-ms',
        LIMITS.heartbeatIntervalMs,
      ),
      partitionsConsumedConcurrently: intFlag(
        f.concurrency,
        '--concurrency',
        LIMITS.partitionsConsumedConcurrently,
      ),
      maxApplyChunkEvents: intFlag(f.maxApplyChunk, '--max-apply-chunk', LIMITS.maxApplyChunkEvents),
      maxWaitTimeMs: intFlag(f.maxWaitMs, '--max-wait-ms', LIMITS.maxWaitTimeMs),
      commitIntervalMs: intFlag(f.commitIntervalMs, '--commit-interval-ms', LIMITS.commitIntervalMs),
      metricsPort:
        f.metricsPort === METRICS_OFF
          ? null
          : portFlag(f.metricsPort, '--metrics-port', DEFAULT_METRICS_PORT),
      metricsHost: f.metricsHost,
      logLevel: oneOfFlag(f.logLevel, '--log-level', LOG_LEVELS, DEFAULT_LOG_LEVEL),
      kafkaSecurity: parseKafkaSecurityFlags(f, (p) => readFileSync(p, 'utf8')),
    });
  } catch (err) {
    throw namingTheFlag(err);
  }
}

/** Parses and validates argv (without node and script); throws ATP_ERR_INGEST_CONFIG naming the flag. */
export function parseIngestArgs(argv: readonly string[]): IngestConfig {
  const program = ingestProgram()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .exitOverride((err) => {
      throw new AtpError(INGEST_ERR.CONFIG, err.message, '$', { cause: err });
    });
  program.parse([...argv], { from: 'user' });
  return configFromFlags(program.opts<RawIngestFlags>());
}

/** A flag parser's or the config validator's error as one ATP_ERR_INGEST_CONFIG naming the flag. */
/** `--regions-file` (absent: the default registry); INVALID_FLAG naming it. */
function regionsFileFlag(path: string | undefined): RegionRegistry {
  try {
    return loadRegionRegistry(path);
  } catch (err) {
    throw flagError('--regions-file', (err as Error).message.replace(/^--regions-file: /, ''));
  }
}

function namingTheFlag(err: unknown): unknown {
  if (hasCode(err, COMMON_ERR.INVALID_FLAG)) {
    return new AtpError(INGEST_ERR.CONFIG, err.message, err.field, { cause: err });
  }
  if (hasCode(err, INGEST_ERR.CONFIG) && err.field !== undefined) {
    const flag = FLAG_OF[err.field];
    if (flag !== undefined) {
      return new AtpError(INGEST_ERR.CONFIG, err.message.replace(err.field, flag), flag, { cause: err });
    }
  }
  return err;
}

// ---- composition -------------------------------------------------------------------------------

export interface IngestServiceOptions extends IngesterOptions {
  logger?: Logger;
  clock?: () => number;
  /** Routes broker connections (tests put cuttable proxies there). */
  socketFactory?: SocketFactory;
  /** Ports to use instead of the Kafka / Redis adapters built from the config (tests, other stores). */
  ports?: Partial<Pick<IngestPorts, 'source' | 'deadLetters' | 'store' | 'state'>>;
}

/** A running ingester with its clients and its metrics/health server. */
export interface IngestService extends Omit<Ingester, 'start'> {
  /** Port of the metrics/health server (null when disabled). */
  readonly metricsPort: number | null;
}

/**
 * Builds every client and adapter from `config`, hands them to the ingester
 * as ports, starts the metrics/health server (probes answer "not ready"
 * while the group is joined) and the ingester. Rejects, with everything
 * started so far stopped again, when any of it cannot start.
 */
export async function startIngestService(
  config: IngestConfig,
  opts: IngestServiceOptions = {},
): Promise<IngestService> {
  const log = opts.logger ?? serviceLogger(config);
  const stores = await storePorts(config, opts.ports ?? {});
  const source =
    opts.ports?.source ??
    new KafkaEventSource({
      brokers: config.brokers,
      security: config.kafkaSecurity,
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
    opts.ports?.deadLetters ??
    new KafkaDeadLetterSink({
      brokers: config.brokers,
      security: config.kafkaSecurity,
      clientId: config.clientId,
      topic: config.deadLetterTopic,
      logger: log,
      socketFactory: opts.socketFactory,
    });
  const ingester = createIngester(
    {
      source,
      deadLetters,
      store: stores.store,
      state: stores.state,
      log,
      clock: opts.clock ?? Date.now,
      // The store epoch lives beside the Redis feature store (a store handed in by a test has none).
      ...(stores.redis === null
        ? {}
        : { epochs: new RedisStoreEpochs(stores.redis, config.region, stores.writer) }),
    },
    config,
    opts,
  );
  const http =
    config.metricsPort === null
      ? null
      : new IngestHttpServer({
          host: config.metricsHost,
          port: config.metricsPort,
          registry: ingester.metrics.registry,
          health: () => ingester.health(),
        });
  const stop = async () => {
    try {
      await ingester.stop();
    } finally {
      stores.redis?.disconnect();
      await http?.stop();
    }
  };
  try {
    await http?.start();
    await ingester.start();
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  const metricsPort = http?.port ?? null;
  log.info({ topic: config.topic, groupId: config.groupId, metricsPort }, 'ingest started');
  return {
    config,
    metrics: ingester.metrics,
    metricsPort,
    health: () => ingester.health(),
    reportLag: () => ingester.reportLag(),
    stop,
  };
}

function serviceLogger(config: IngestConfig): Logger {
  return createLogger({ level: config.logLevel, name: 'atp-ingest' }).child({
    component: 'ingest',
    region: config.region,
  });
}

/** The feature store and state store ports; one write-profile Redis client unless both are given. */
async function storePorts(
  config: IngestConfig,
  given: { store?: FeatureSink; state?: IngestStateStore },
): Promise<{
  store: FeatureSink;
  state: IngestStateStore;
  redis: RedisClient | null;
  /** The Redis feature store built here (null when a store was given): a new epoch voids its write cache. */
  writer: RedisFeatureStore | null;
}> {
  if (given.store !== undefined && given.state !== undefined) {
    return { store: given.store, state: given.state, redis: null, writer: null };
  }
  let redis: RedisClient;
  try {
    // A redis+cluster:// URL gives an ioredis Cluster; the adapters split batches per node and
    // wait for the replicas of every primary they wrote to (cluster-slots.ts).
    redis = await connectRedis(config.redisUrl, 'write');
  } catch (err) {
    throw new AtpError(
      INGEST_ERR.STORE_UNREACHABLE_AT_START,
      `Redis at ${redactRedisUrl(config.redisUrl)} is unreachable: ${err instanceof Error ? err.message : String(err)}`,
      'redisUrl',
      { cause: err },
    );
  }
  const writer = given.store === undefined ? new RedisFeatureStore(redis, config.region) : null;
  return {
    store: given.store ?? (writer as RedisFeatureStore),
    state: given.state ?? new RedisIngestStateStore(redis, config.region),
    redis,
    writer,
  };
}

// ---- process -----------------------------------------------------------------------------------

/** Runs the service until SIGTERM/SIGINT (or `until` settles) and returns the exit code. */
export async function runIngest(
  config: IngestConfig,
  until?: Promise<void>,
  clock: Clock = clockFrom(undefined),
): Promise<number> {
  const log = serviceLogger(config);
  let service: IngestService;
  try {
    service = await startIngestService(config, { logger: log, clock: clock.now });
  } catch (err) {
    process.stderr.write(`${errorLine(toAtpError(err, INGEST_ERR.START_FAILED))}\n`);
    return EXIT_FAILED;
  }
  await waitForStopSignal(until);
  // Uncommitted work is re-delivered to the next owner, so a stop that cannot finish may be cut short.
  let code = EXIT_OK;
  try {
    if ((await settleWithin(service.stop(), STOP_DEADLINE_MS)) === 'late') {
      throw new AtpError(INGEST_ERR.STOP_TIMED_OUT, `not stopped within ${STOP_DEADLINE_MS} ms; exiting`);
    }
  } catch (err) {
    if (!hasCode(err, INGEST_ERR.STOP_TIMED_OUT)) throw err;
    process.stderr.write(`${errorLine(err)}\n`);
    code = EXIT_STOP_TIMED_OUT;
  }
  log.flush();
  return code;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = ingestProgram();
  onAction(program, (flags: RawIngestFlags) => {
    let config: IngestConfig;
    let clock: Clock;
    try {
      config = configFromFlags(flags);
      clock = clockFromFlags(flags);
    } catch (err) {
      if (!hasCode(err, INGEST_ERR.CONFIG)) throw err;
      process.stderr.write(`${errorLine(err)}\n`);
      return EXIT_USAGE;
    }
    return runIngest(config, undefined, clock);
  });
  return runProgram(program, argv);
}

runMain(import.meta.url, main);
