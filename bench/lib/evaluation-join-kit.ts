/**
 * The outcome-join benchmark's measurement, shared by the bench script and
 * its short test: a seeded world's decisions, outcomes and stock truths
 * produced once to `atp.decisions.<region>` / `order.outcomes.<region>` on
 * one broker, then, interleaved in each run, two readers of the same topics
 * from the same broker, each under a fresh consumer group, in this process
 * (one Node thread: one core):
 *
 * - raw: a kafkajs consumer that only counts the messages (the transport's
 *   own cost, the ceiling);
 * - join: the EvaluationService of `atp-evaluate run` on a fresh SQLite file
 *   (decode, join, one durable transaction per batch, commit).
 *
 * Each run ends when every record was consumed (join: applied or dead-lettered).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { createKafkaClient } from '../../adapters/src/kafka/kafka-client.js';
import { KafkaEventProducer } from '../../adapters/src/kafka/kafka-event-producer.js';
import { KafkaDeadLetterSink } from '../../evaluation/src/dead-letters/kafka-dead-letter-sink.js';
import { EvaluationService } from '../../evaluation/src/evaluation-service.js';
import { DEFAULT_HORIZON_MS, DEFAULT_LATENESS_MS } from '../../evaluation/src/join/outcome-join.js';
import { DEFAULT_MAX_WAIT_MS, KafkaRecordSource } from '../../evaluation/src/sources/kafka-record-source.js';
import type { Logger } from '../../platform/src/logger.js';
import { decisionsTopic, outcomesTopic } from '../../proto/v1/topics.js';
import { orderedLines, randomWorld, type World } from '../../tests/evaluation/join/join-stream.js';

/** How often the end of a run is checked. */
const POLL_MS = 20;
/** A run that consumes nothing new for this long has failed. */
const STALL_MS = 60_000;
const PRODUCE_CHUNK = 5_000;

export interface JoinBenchWorld {
  region: string;
  world: World;
  decisions: number;
  records: number;
}

export interface JoinBenchRun {
  rawS: number;
  joinS: number;
  rawRecordsPerS: number;
  joinRecordsPerS: number;
  joinDecisionsPerS: number;
  /** join / raw throughput in this run. */
  ratio: number;
}

/** Produces a seeded world of `decisions` decisions to the region's two topics. */
export async function produceJoinWorld(
  brokers: string[],
  region: string,
  decisions: number,
  seed: number,
  logger: Logger,
): Promise<JoinBenchWorld> {
  const world = randomWorld(decisions, seed);
  for (const d of world.decisions) d.region = region;
  for (const o of world.outcomes) o.region = region;
  for (const s of world.truths) s.region = region;
  const lines = orderedLines(world);
  const producer = new KafkaEventProducer({ brokers, clientId: 'join-bench-producer', logger });
  await producer.start();
  try {
    for (const [stream, topic] of [
      ['decisions', decisionsTopic(region)],
      ['outcomes', outcomesTopic(region)],
    ] as const) {
      const msgs = lines.filter((l) => l.stream === stream).map((l) => ({ key: l.key, value: l.text }));
      for (let i = 0; i < msgs.length; i += PRODUCE_CHUNK)
        await producer.send(topic, msgs.slice(i, i + PRODUCE_CHUNK));
    }
  } finally {
    await producer.stop();
  }
  return { region, world, decisions: world.decisions.length, records: lines.length };
}

async function until(done: () => number, total: number, what: string): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const n = done();
    if (n >= total) return;
    if (n !== last) {
      last = n;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > STALL_MS) {
      throw new Error(`${what}: stalled at ${n} of ${total} records`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Seconds for a counting consumer to read every record of both topics. */
export async function rawConsume(
  brokers: string[],
  w: JoinBenchWorld,
  group: string,
  logger: Logger,
): Promise<number> {
  const kafka = createKafkaClient({ brokers, clientId: group, logger });
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: DEFAULT_MAX_WAIT_MS });
  let count = 0;
  const t0 = performance.now();
  await consumer.connect();
  try {
    await consumer.subscribe({
      topics: [decisionsTopic(w.region), outcomesTopic(w.region)],
      fromBeginning: true,
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        count += batch.messages.length;
      },
    });
    await until(() => count, w.records, 'raw consume');
    return (performance.now() - t0) / 1000;
  } finally {
    await consumer.disconnect();
  }
}

/** Seconds for the outcome join (atp-evaluate's service) to apply every record into a fresh store. */
export async function joinConsume(
  brokers: string[],
  w: JoinBenchWorld,
  group: string,
  logger: Logger,
): Promise<{ seconds: number; service: EvaluationService; dir: string }> {
  const dir = mkdtempSync(joinPath(tmpdir(), 'atp-join-bench-'));
  const service = new EvaluationService({
    join: { region: w.region, horizonMs: DEFAULT_HORIZON_MS, latenessMs: DEFAULT_LATENESS_MS },
    dbPath: joinPath(dir, 'eval.sqlite'),
    source: new KafkaRecordSource({
      brokers,
      clientId: group,
      groupId: group,
      decisionsTopic: decisionsTopic(w.region),
      outcomesTopic: outcomesTopic(w.region),
      logger,
    }),
    deadLetters: new KafkaDeadLetterSink({ brokers, clientId: group, logger }),
    http: null,
    closeAllAtEnd: false,
    logger,
  });
  const t0 = performance.now();
  await service.start();
  const consumed = () => {
    const c = service.store.counters();
    return c.records_applied + c.dead_lettered;
  };
  await until(consumed, w.records, 'join');
  return { seconds: (performance.now() - t0) / 1000, service, dir };
}

/** One interleaved run: raw, then join, each under a fresh group. */
export async function joinBenchRun(
  brokers: string[],
  w: JoinBenchWorld,
  run: number,
  logger: Logger,
  keep?: (service: EvaluationService) => void,
): Promise<JoinBenchRun> {
  const rawS = await rawConsume(brokers, w, `bench-raw-${run}-${Date.now()}`, logger);
  const j = await joinConsume(brokers, w, `bench-join-${run}-${Date.now()}`, logger);
  try {
    keep?.(j.service);
  } finally {
    await j.service.stop();
    rmSync(j.dir, { recursive: true, force: true });
  }
  const rawRecordsPerS = w.records / rawS;
  const joinRecordsPerS = w.records / j.seconds;
  return {
    rawS,
    joinS: j.seconds,
    rawRecordsPerS,
    joinRecordsPerS,
    joinDecisionsPerS: w.decisions / j.seconds,
    ratio: joinRecordsPerS / rawRecordsPerS,
  };
}
