/**
 * Shared steps of the ingester integration tests: event streams with a
 * reference state, producing, starting ingesters, waiting for the group to
 * catch up, and comparing Redis with the reference slot by slot.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import type { Test } from 'tap';
import type { SocketFactory } from '../../adapters/src/kafka/kafka-client.js';
import { KafkaEventProducer } from '../../adapters/src/kafka/kafka-event-producer.js';
import { connectRedis } from '../../adapters/src/redis/redis-client.js';
import { RedisFeatureStore } from '../../adapters/src/redis/redis-feature-store.js';
import { FeatureState } from '../../features/src/feature-state.js';
import { type IngestConfig, validateIngestConfig } from '../../ingest/src/ingest-config.js';
import { type IngestService, startIngestService } from '../../ingest/src/main.js';
import { encodeEvent, eventKey, type InventoryEvent } from '../../proto/v1/inventory-event.js';
import { T0 } from '../helpers/events.js';
import { type KafkaMockCluster, startKafkaMockCluster } from '../helpers/kafka-mock-cluster.js';
import { type RedisServerHandle, startRedisServer } from '../helpers/redis-server.js';
import { waitFor as waitUntil } from '../helpers/wait-for.js';

export const quietLog = pino({ level: 'silent' });

export interface IngestRig {
  cluster: KafkaMockCluster;
  redis: RedisServerHandle;
  admin: Admin;
  prod: KafkaEventProducer;
}

/**
 * What every ingester test file starts: a mock Kafka cluster, a private
 * redis-server, an admin client and a producer, all stopped in the file's
 * teardown.
 */
export async function startIngestRig(t: Test): Promise<IngestRig> {
  const cluster = await startKafkaMockCluster();
  const redis = await startRedisServer();
  const admin = await adminOf(cluster.brokers);
  const prod = await producer(cluster.brokers);
  t.teardown(async () => {
    await prod.stop();
    await admin.disconnect();
    await cluster.stop();
    await redis.stop();
  });
  return { cluster, redis, admin, prod };
}

let regionCounter = 0;
/** A region name of its own per test: own topic, own group, own Redis keys. */
export function freshRegion(prefix: string): string {
  return `${prefix}-${process.pid}-${++regionCounter}`;
}

export function topicOf(region: string): string {
  return `inventory.mutations.${region}`;
}

/**
 * `pairs` (sku,node) streams of `perPair` events each, interleaved pair by
 * pair in sequence order: receipts, reservations, releases, sales, counts.
 */
export function stockStream(tag: string, pairs: number, perPair: number, startSeq = 1): InventoryEvent[] {
  const kinds = ['receipt', 'reservation', 'sale', 'release', 'cycle-count', 'adjustment'] as const;
  const out: InventoryEvent[] = [];
  for (let i = 0; i < perPair; i++) {
    const seq = startSeq + i;
    for (let p = 0; p < pairs; p++) {
      const kind = seq === 1 ? 'receipt' : kinds[(seq + p) % kinds.length]!;
      const quantity =
        kind === 'receipt' ? 50 : kind === 'cycle-count' ? 40 + (p % 5) : kind === 'adjustment' ? -1 : 1;
      const node = ['WH-1', 'ST-2', 'SL-3'][p % 3]!;
      out.push({
        eventId: `${tag}-${p}-${seq}`,
        sku: `${tag}-SKU-${Math.floor(p / 3)}`,
        node,
        kind,
        quantity,
        sequence: seq,
        eventTimeMs: T0 + seq * 1_000 + p,
        source: node.startsWith('SL') ? 'third-party' : 'first-party',
      });
    }
  }
  return out;
}

export function referenceOf(events: readonly InventoryEvent[]): FeatureState {
  const s = new FeatureState();
  for (const e of events) s.apply(e);
  return s;
}

export async function producer(brokers: string[]): Promise<KafkaEventProducer> {
  const p = new KafkaEventProducer({ brokers, clientId: 'test-producer', logger: quietLog });
  await p.start();
  return p;
}

export async function produce(
  p: KafkaEventProducer,
  topic: string,
  events: readonly InventoryEvent[],
): Promise<void> {
  const CHUNK = 500;
  for (let i = 0; i < events.length; i += CHUNK) {
    await p.send(
      topic,
      events.slice(i, i + CHUNK).map((e) => ({ key: eventKey(e), value: encodeEvent(e) })),
    );
  }
}

export function ingestConfig(
  region: string,
  brokers: string[],
  redisUrl: string,
  extra: Record<string, unknown> = {},
): IngestConfig {
  return validateIngestConfig({
    region,
    brokers,
    redisUrl,
    metricsPort: null,
    logLevel: 'silent',
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    retryInitialBackoffMs: 50,
    retryMaxBackoffMs: 500,
    ...extra,
  });
}

/** The ingest service wired by its composition root, in this process, with quiet logs and fast lag reports. */
export async function startIngester(
  config: IngestConfig,
  socketFactory?: SocketFactory,
): Promise<IngestService> {
  return startIngestService(config, { socketFactory, logger: quietLog, lagReportIntervalMs: 250 });
}

export async function adminOf(brokers: string[]): Promise<Admin> {
  const admin = new Kafka({ clientId: 'test-admin', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  return admin;
}

export async function groupPosition(admin: Admin, groupId: string, topic: string) {
  const [high, [committed]] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const highBy = new Map(high.map((h) => [h.partition, BigInt(h.high)]));
  const committedBy = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  let lag = 0n;
  for (const [p, h] of highBy) {
    const c = committedBy.get(p) ?? -1n;
    lag += h - (c < 0n ? 0n : c);
  }
  const totalCommitted = [...committedBy.values()].reduce((a, c) => a + (c > 0n ? c : 0n), 0n);
  return {
    lag: Number(lag),
    committed: Number(totalCommitted),
    high: [...highBy.values()].reduce((a, b) => a + b, 0n),
  };
}

/** Waits until the group has committed every record of the topic. */
export async function waitCaughtUp(
  admin: Admin,
  groupId: string,
  topic: string,
  expectedRecords: number,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(
    async () => {
      const pos = await groupPosition(admin, groupId, topic);
      return pos.lag === 0 && Number(pos.high) >= expectedRecords;
    },
    timeoutMs,
    `group ${groupId} to commit all ${expectedRecords} records of ${topic}`,
  );
}

/** Polls every 100 ms: the conditions here ask Kafka or Redis, not memory. */
const POLL_MS = 100;

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  await waitUntil(cond, timeoutMs, what, POLL_MS);
}

export interface StateDiff {
  pairs: number;
  mismatches: string[];
}

/** Compares every pair of `ref` with Redis slot by slot (and that nothing is left waiting). */
export async function diffWithRedis(redisUrl: string, region: string, ref: FeatureState): Promise<StateDiff> {
  const client = await connectRedis(redisUrl, 'write');
  try {
    const store = new RedisFeatureStore(client, region);
    const mismatches: string[] = [];
    let pairs = 0;
    for (const [key, rec] of ref.entries()) {
      pairs++;
      const [sku, node] = key.split('|') as [string, string];
      const got = await store.readPair(sku, node);
      if (got.pending !== null) mismatches.push(`${key}: ${got.pending.length} event(s) still held`);
      for (let i = 0; i < rec.length; i++) {
        if (!Object.is(got.rec[i], rec[i])) {
          mismatches.push(`${key} slot ${i}: redis ${got.rec[i]} != reference ${rec[i]}`);
          break;
        }
      }
    }
    return { pairs, mismatches };
  } finally {
    client.disconnect();
  }
}

/** Produces `events` in `chunks` pieces spread over `spreadMs` (a live stream). */
export async function feed(
  p: KafkaEventProducer,
  topic: string,
  events: readonly InventoryEvent[],
  chunks: number,
  spreadMs: number,
): Promise<void> {
  const size = Math.ceil(events.length / chunks);
  for (let i = 0; i < events.length; i += size) {
    await produce(p, topic, events.slice(i, i + size));
    await sleep(spreadMs / chunks);
  }
}
