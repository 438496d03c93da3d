/**
 * Configuration of the ingest service. `validateIngestConfig(raw)` turns
 * untrusted input (CLI flags, a config file) into an IngestConfig or throws an
 * ATP_ERR_INGEST_CONFIG AtpError naming the field; the composition root and
 * `createIngester` trust what they get.
 */

import type { KafkaSecurity } from '@mercato/adapters/kafka/kafka-security';
import type { RegionRegistry } from '@mercato/proto/v1/region-registry';
import { parseRegionName } from '@mercato/proto/v1/regions';
import { ResidencyGuard, regionOfTopic } from '@mercato/proto/v1/residency';
import { deadLetterTopic, mutationsTopic } from '@mercato/proto/v1/topics';
import { configError } from './ingest-errors.js';
import { RETRY_INITIAL_BACKOFF_MS, RETRY_MAX_BACKOFF_MS } from './retry-backoff.js';

/** Kafka's default session timeout range is 6..300 s; shorter ones make every GC pause a rebalance. */
export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
export const MIN_SESSION_TIMEOUT_MS = 3_000;
export const MAX_SESSION_TIMEOUT_MS = 300_000;
/** A third of the session timeout at most, as Kafka recommends. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000;
/** Time a member has to rejoin during a rebalance before the coordinator drops it. */
export const DEFAULT_REBALANCE_TIMEOUT_MS = 60_000;
/** Partitions handled at once by one ingester; Redis writes of different partitions never touch the same SKU. */
export const DEFAULT_PARTITIONS_CONSUMED_CONCURRENTLY = 4;
export const DEFAULT_MAX_APPLY_CHUNK_EVENTS = 2_000;
export const DEFAULT_METRICS_PORT = 9464;
/**
 * Loopback only by default: /metrics and /readyz tell anyone who can reach
 * them about topics, lag and dependencies. A pod whose probes and scraper
 * come from outside sets `--metrics-host 0.0.0.0` explicitly.
 */
export const DEFAULT_METRICS_HOST = '127.0.0.1';
/** Minimum time between two offset commits of one partition (0 = after every batch); see kafka-event-source.ts. */
export const DEFAULT_COMMIT_INTERVAL_MS = 1_000;
/** One fetch returns at most this much per partition (kafkajs default 1 MiB = about 4K events). */
export const DEFAULT_MAX_BYTES_PER_PARTITION = 1_048_576;
/**
 * Longest a fetch waits for data before the broker answers. Brokers answer
 * as soon as min-bytes are there, but not every broker does (librdkafka's mock
 * cluster waits the full time), and kafkajs' 5 s default then becomes the
 * freshness floor: 100 ms keeps an idle consumer cheap and a busy one fresh.
 */
export const DEFAULT_MAX_WAIT_TIME_MS = 100;

/** Accepted ranges of the numeric fields (flags check the same ones). */
export const LIMITS = {
  sessionTimeoutMs: { min: MIN_SESSION_TIMEOUT_MS, max: MAX_SESSION_TIMEOUT_MS },
  /** The upper bound is a third of the session timeout, checked with it. */
  heartbeatIntervalMs: { min: 100, max: MAX_SESSION_TIMEOUT_MS / 3 },
  /** The lower bound is the session timeout, checked with it. */
  rebalanceTimeoutMs: { min: MIN_SESSION_TIMEOUT_MS, max: 600_000 },
  partitionsConsumedConcurrently: { min: 1, max: 1_024 },
  maxBytesPerPartition: { min: 1_024, max: 64 * 1_048_576 },
  maxWaitTimeMs: { min: 1, max: 10_000 },
  commitIntervalMs: { min: 0, max: 60_000 },
  maxApplyChunkEvents: { min: 1, max: 100_000 },
  retryInitialBackoffMs: { min: 1, max: 60_000 },
  retryMaxBackoffMs: { min: 1, max: 300_000 },
  metricsPort: { min: 0, max: 65_535 },
} as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

export interface IngestConfig {
  region: string;
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** TLS / SASL to the brokers (`--kafka-*` flags, adapters kafka-security.ts); null = plaintext. */
  kafkaSecurity: KafkaSecurity | null;
  redisUrl: string;
  groupId: string;
  clientId: string;
  topic: string;
  deadLetterTopic: string;
  /** Where a group without committed offsets starts: the feature store needs the whole log. */
  fromBeginning: boolean;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  partitionsConsumedConcurrently: number;
  maxBytesPerPartition: number;
  maxWaitTimeMs: number;
  commitIntervalMs: number;
  maxApplyChunkEvents: number;
  retryInitialBackoffMs: number;
  retryMaxBackoffMs: number;
  /** null = no metrics/health HTTP server; 0 = any free port. */
  metricsPort: number | null;
  metricsHost: string;
  logLevel: LogLevel;
}

/**
 * What the ingest domain (createIngester) reads of the configuration; the
 * other fields configure the clients the composition root builds. The
 * embedded ingester (embedded-ingest.ts) has no brokers and no Redis URL and
 * passes only these.
 */
export type IngesterConfig = Pick<
  IngestConfig,
  | 'region'
  | 'topic'
  | 'groupId'
  | 'clientId'
  | 'heartbeatIntervalMs'
  | 'maxApplyChunkEvents'
  | 'retryInitialBackoffMs'
  | 'retryMaxBackoffMs'
>;

/** Kafka topic names: [a-zA-Z0-9._-]. */
const NAME_RE = /^[A-Za-z0-9._-]{1,249}$/;
const BROKER_RE = /^[A-Za-z0-9.-]+:\d{1,5}$/;
/** One server (`redis://`, `rediss://`) or a Redis Cluster by its seed nodes (`redis+cluster://h:p,h:p`). */
const REDIS_URL_RE = /^rediss?(\+cluster)?:\/\/\S+$/;

export function validateIngestConfig(raw: unknown): IngestConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('$', 'expected an object');
  const o = raw as Record<string, unknown>;
  // The one region parser (proto/v1/regions.ts): `eu_west` is refused here as everywhere.
  if (typeof o.region !== 'string') fail('region', `expected a region name, got ${JSON.stringify(o.region)}`);
  const region = regionName(o.region);
  const brokersRaw = o.brokers;
  const brokers =
    typeof brokersRaw === 'string'
      ? brokersRaw
          .split(',')
          .map((b) => b.trim())
          .filter((b) => b.length > 0)
      : Array.isArray(brokersRaw)
        ? brokersRaw
        : fail('brokers', 'expected host:port[,host:port...]');
  if (brokers.length === 0) fail('brokers', 'needs at least one host:port');
  for (const b of brokers) {
    if (typeof b !== 'string' || !BROKER_RE.test(b)) fail('brokers', `"${String(b)}" is not host:port`);
  }
  const redisUrl = o.redisUrl;
  if (typeof redisUrl !== 'string' || !REDIS_URL_RE.test(redisUrl)) {
    fail('redisUrl', 'expected redis://host:port[/db] or redis+cluster://host:port[,host:port...]');
  }
  const topic = optStr(o, 'topic', NAME_RE) ?? mutationsTopic(region);
  const sessionTimeoutMs = int(
    o,
    'sessionTimeoutMs',
    DEFAULT_SESSION_TIMEOUT_MS,
    LIMITS.sessionTimeoutMs.min,
    LIMITS.sessionTimeoutMs.max,
  );
  const heartbeatIntervalMs = int(
    o,
    'heartbeatIntervalMs',
    Math.min(DEFAULT_HEARTBEAT_INTERVAL_MS, Math.floor(sessionTimeoutMs / 3)),
    LIMITS.heartbeatIntervalMs.min,
    Math.floor(sessionTimeoutMs / 3),
  );
  const retryInitialBackoffMs = int(
    o,
    'retryInitialBackoffMs',
    RETRY_INITIAL_BACKOFF_MS,
    LIMITS.retryInitialBackoffMs.min,
    LIMITS.retryInitialBackoffMs.max,
  );
  const retryMaxBackoffMs = int(
    o,
    'retryMaxBackoffMs',
    RETRY_MAX_BACKOFF_MS,
    retryInitialBackoffMs,
    LIMITS.retryMaxBackoffMs.max,
  );
  const metricsPort =
    o.metricsPort === null || o.metricsPort === false
      ? null
      : int(o, 'metricsPort', DEFAULT_METRICS_PORT, LIMITS.metricsPort.min, LIMITS.metricsPort.max);
  const logLevel = o.logLevel ?? DEFAULT_LOG_LEVEL;
  if (typeof logLevel !== 'string' || !(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    fail('logLevel', `expected one of ${LOG_LEVELS.join(' | ')}`);
  }
  const fromBeginning = o.fromBeginning ?? true;
  if (typeof fromBeginning !== 'boolean') fail('fromBeginning', 'expected true or false');
  const dlqTopic = optStr(o, 'deadLetterTopic', NAME_RE) ?? deadLetterTopic(topic);
  checkResidency(o.registry as RegionRegistry | undefined, region, {
    topic,
    deadLetterTopic: dlqTopic,
    brokers: brokers as string[],
    redisUrl,
  });
  return {
    region,
    brokers: brokers as string[],
    redisUrl,
    groupId: optStr(o, 'groupId', NAME_RE) ?? `atp-ingest-${region}`,
    clientId: optStr(o, 'clientId', NAME_RE) ?? `atp-ingest-${region}-${process.pid}`,
    topic,
    deadLetterTopic: dlqTopic,
    fromBeginning,
    sessionTimeoutMs,
    rebalanceTimeoutMs: int(
      o,
      'rebalanceTimeoutMs',
      DEFAULT_REBALANCE_TIMEOUT_MS,
      sessionTimeoutMs,
      LIMITS.rebalanceTimeoutMs.max,
    ),
    heartbeatIntervalMs,
    partitionsConsumedConcurrently: int(
      o,
      'partitionsConsumedConcurrently',
      DEFAULT_PARTITIONS_CONSUMED_CONCURRENTLY,
      LIMITS.partitionsConsumedConcurrently.min,
      LIMITS.partitionsConsumedConcurrently.max,
    ),
    maxBytesPerPartition: int(
      o,
      'maxBytesPerPartition',
      DEFAULT_MAX_BYTES_PER_PARTITION,
      LIMITS.maxBytesPerPartition.min,
      LIMITS.maxBytesPerPartition.max,
    ),
    maxWaitTimeMs: int(
      o,
      'maxWaitTimeMs',
      DEFAULT_MAX_WAIT_TIME_MS,
      LIMITS.maxWaitTimeMs.min,
      LIMITS.maxWaitTimeMs.max,
    ),
    commitIntervalMs: int(
      o,
      'commitIntervalMs',
      DEFAULT_COMMIT_INTERVAL_MS,
      LIMITS.commitIntervalMs.min,
      LIMITS.commitIntervalMs.max,
    ),
    maxApplyChunkEvents: int(
      o,
      'maxApplyChunkEvents',
      DEFAULT_MAX_APPLY_CHUNK_EVENTS,
      LIMITS.maxApplyChunkEvents.min,
      LIMITS.maxApplyChunkEvents.max,
    ),
    retryInitialBackoffMs,
    retryMaxBackoffMs,
    metricsPort,
    metricsHost: optStr(o, 'metricsHost', /^[A-Za-z0-9.:-]+$/) ?? DEFAULT_METRICS_HOST,
    // Parsed and checked by parseKafkaSecurityFlags at the edge.
    kafkaSecurity: (o.kafkaSecurity as KafkaSecurity | null | undefined) ?? null,
    logLevel: logLevel as LogLevel,
  };
}

function regionName(raw: string): string {
  try {
    return parseRegionName(raw, 'region');
  } catch (err) {
    fail('region', (err as Error).message.replace(/^region: /, ''));
  }
}

/**
 * An ingester reads its own region's topic into its own region's Redis
 * (DESIGN.md §7): a topic (or dead-letter topic) naming another region is
 * refused, with or without a registry. With the registry (`registry`, the
 * CLI always passes one: `--regions-file` or the default), the region must
 * be known and the brokers and Redis must not be another region's.
 */
function checkResidency(
  registry: RegionRegistry | undefined,
  region: string,
  to: { topic: string; deadLetterTopic: string; brokers: string[]; redisUrl: string },
): void {
  for (const field of ['topic', 'deadLetterTopic'] as const) {
    const of = regionOfTopic(to[field]);
    if (of !== region) {
      const whose = of === null ? 'names no region' : `is ${of}'s topic`;
      fail(field, `"${to[field]}" ${whose}; this ingester serves ${region} (its topics end in .${region})`);
    }
  }
  if (registry === undefined) return;
  let guard: ResidencyGuard;
  try {
    guard = new ResidencyGuard(registry, region, 'region');
  } catch (err) {
    fail('region', (err as Error).message.replace(/^region: /, ''));
  }
  const checks: [string, () => void][] = [
    ['brokers', () => guard.checkBrokers(to.brokers, 'brokers')],
    [
      'topic',
      () => guard.clear('user-level', { kind: 'topic', topic: to.topic, brokers: to.brokers }, 'topic'),
    ],
    [
      'deadLetterTopic',
      () => guard.clear('user-level', { kind: 'topic', topic: to.deadLetterTopic }, 'deadLetterTopic'),
    ],
    ['redisUrl', () => guard.checkRedis(to.redisUrl, 'redisUrl')],
  ];
  for (const [field, check] of checks) {
    try {
      check();
    } catch (err) {
      fail(field, (err as Error).message.replace(new RegExp(`^${field}: `), ''));
    }
  }
}

function fail(field: string, problem: string): never {
  throw configError(field, problem);
}

function optStr(o: Record<string, unknown>, key: string, re: RegExp): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !re.test(v)) fail(key, `invalid value ${JSON.stringify(v)}`);
  return v;
}

/** Accepts numbers and decimal strings (CLI flags arrive as strings). */
function int(o: Record<string, unknown>, key: string, dflt: number, min: number, max: number): number {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n))
    fail(key, `expected an integer, got ${JSON.stringify(v)}`);
  if (n < min || n > max) fail(key, `must be between ${min} and ${max}, got ${n}`);
  return n;
}
