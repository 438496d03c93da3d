/**
 * The outcome join as a service against a real Kafka-protocol broker
 * (librdkafka's mock cluster) and a real SQLite file: a stream with
 * duplicates and malformed records, the service stopped mid-stream and
 * restarted, then a third start under a new consumer group (every record
 * re-delivered, as after a lost offset commit). The figures equal the batch
 * recomputation from the logs; malformed records are on `<topic>.dlq` with
 * their reason; /metrics and /v1/evaluation answer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import t from 'tap';
import { createKafkaClient } from '../../../adapters/src/kafka/kafka-client.js';
import { KafkaEventProducer } from '../../../adapters/src/kafka/kafka-event-producer.js';
import {
  DLQ_HEADERS,
  KafkaDeadLetterSink,
} from '../../../evaluation/src/dead-letters/kafka-dead-letter-sink.js';
import { EvaluationService } from '../../../evaluation/src/evaluation-service.js';
import { SqliteJoinStore } from '../../../evaluation/src/join/sqlite-join-store.js';
import { buildReport, type EvaluationReport } from '../../../evaluation/src/report/evaluation-report.js';
import { KafkaRecordSource } from '../../../evaluation/src/sources/kafka-record-source.js';
import { silentLogger } from '../../../platform/src/logger.js';
import { decisionsTopic, outcomesTopic } from '../../../proto/v1/topics.js';
import { startKafkaMockCluster } from '../../helpers/kafka-mock-cluster.js';
import { waitFor } from '../../helpers/wait-for.js';
import {
  decision,
  dLine,
  item,
  MIN,
  orderedLines,
  plain,
  REGION,
  randomWorld,
  recompute,
  type StreamLine,
  segmentsByKey,
  T0,
  tLine,
  truth,
} from './join-stream.js';

const HORIZON_MS = 60 * MIN;
const LATENESS_MS = 10 * MIN;
const logger = silentLogger();
const cluster = await startKafkaMockCluster(1);
t.teardown(() => cluster.stop());
const dir = mkdtempSync(joinPath(tmpdir(), 'atp-eval-kafka-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const producer = new KafkaEventProducer({ brokers: cluster.brokers, clientId: 'test-producer', logger });
await producer.start();
t.teardown(() => producer.stop());

async function produce(lines: readonly StreamLine[]): Promise<void> {
  const dec = lines.filter((l) => l.stream === 'decisions').map((l) => ({ key: l.key, value: l.text }));
  const out = lines.filter((l) => l.stream === 'outcomes').map((l) => ({ key: l.key, value: l.text }));
  await producer.send(decisionsTopic(REGION), dec);
  await producer.send(outcomesTopic(REGION), out);
}

function service(dbPath: string, groupId: string): EvaluationService {
  const clientId = `eval-${groupId}`;
  return new EvaluationService({
    join: { region: REGION, horizonMs: HORIZON_MS, latenessMs: LATENESS_MS },
    dbPath,
    source: new KafkaRecordSource({
      brokers: cluster.brokers,
      clientId,
      groupId,
      decisionsTopic: decisionsTopic(REGION),
      outcomesTopic: outcomesTopic(REGION),
      logger,
    }),
    deadLetters: new KafkaDeadLetterSink({ brokers: cluster.brokers, clientId, logger }),
    http: { port: 0, host: '127.0.0.1' },
    closeAllAtEnd: false,
    logger,
  });
}

async function report(s: EvaluationService, query = ''): Promise<EvaluationReport> {
  const res = await fetch(`http://127.0.0.1:${s.httpPort}/v1/evaluation${query}`);
  return (await res.json()) as EvaluationReport;
}

/** Records consumed by the store (applied or dead-lettered; replays excluded). */
const consumed = (r: EvaluationReport) => r.counters.records_applied + r.counters.dead_lettered;

t.test(
  'restart mid-stream, re-delivery, duplicates and malformed records: figures equal the batch recomputation',
  async (t) => {
    const world = randomWorld(240, 5);
    const lines = orderedLines(world);
    // A producer retry writes every 20th record twice.
    const withDuplicates = lines.flatMap((l, i) => (i % 20 === 0 ? [l, l] : [l]));
    const malformed: StreamLine[] = [
      { stream: 'decisions', key: 'bad-1', text: '{"schema":"atp.decision.v1"' },
      {
        stream: 'decisions',
        key: 'bad-2',
        text: dLine(decision('bad-2', T0, [item('S', true)])).text.replace(
          '"arm":"champion",',
          '"arm":"champion","buyer_id":"alice",',
        ),
      },
      {
        stream: 'outcomes',
        key: 'bad-3',
        text: JSON.stringify({ schema: 'order.outcome.v1', decision_id: 'x' }),
      },
    ];
    const half = Math.floor(withDuplicates.length / 2);
    const first = [...withDuplicates.slice(0, half), ...malformed];
    const second = withDuplicates.slice(half);
    const end = decision('d-end', T0 + 1_000 * MIN, [item('SE', false, { nodeType: 'none' })], {
      arm: 'marker',
    });
    const closing = [dLine(end), tLine(truth(end, 'SE', false))];
    const total = first.length + second.length + closing.length;
    const dbPath = joinPath(dir, 'eval.sqlite');

    await produce(first);
    const a = service(dbPath, 'eval-g1');
    await a.start();
    // Stop as soon as part of the stream is in (mid-stream), with more being produced.
    const producing = produce(second);
    await waitFor(async () => consumed(await report(a)) > 0, 60_000, 'first records applied', 100);
    t.equal(await a.stop(), 'done', 'the first instance stopped in time');
    const reopened = new SqliteJoinStore(dbPath, { readonly: true });
    const atStop = buildReport(reopened);
    reopened.close();
    t.comment(`first instance stopped after ${consumed(atStop)} of ${total} records`);
    await producing;
    await produce(closing);

    const b = service(dbPath, 'eval-g1');
    await b.start();
    await waitFor(
      async () => consumed(await report(b)) === total,
      60_000,
      'every record consumed after the restart',
      100,
    );
    const afterRestart = await report(b, `?region=${REGION}`);
    t.equal(await b.stop(), 'done');

    // A new group starts from the beginning: every record is re-delivered and must change nothing.
    const c = service(dbPath, 'eval-g2');
    await c.start();
    await waitFor(
      async () => (await report(c)).counters.records_replayed >= total,
      60_000,
      'the whole log re-delivered',
      100,
    );
    const afterReplay = await report(c);
    const metrics = await (await fetch(`http://127.0.0.1:${c.httpPort}/metrics`)).text();
    const badQuery = await fetch(`http://127.0.0.1:${c.httpPort}/v1/evaluation?region=EU_WEST`);
    t.equal(await c.stop(), 'done');

    const withoutMarker = (r: EvaluationReport) =>
      plain(new Map([...segmentsByKey(r.segments)].filter(([k]) => !k.includes('|marker|'))));
    const expected = plain(recompute(world, HORIZON_MS));
    t.same(withoutMarker(afterRestart), expected, 'after the restart: the batch recomputation');
    t.same(withoutMarker(afterReplay), expected, 'after a full re-delivery: unchanged');
    t.same(
      afterReplay.counters,
      { ...afterRestart.counters, records_replayed: afterReplay.counters.records_replayed },
      'no counter moved but replays',
    );
    t.equal(afterRestart.counters.dead_lettered, malformed.length);
    t.equal(afterRestart.counters.records_applied, total - malformed.length, 'each record applied once');
    t.equal(afterRestart.counters.late_decisions + afterRestart.counters.late_outcomes, 0, 'nothing late');
    t.ok(
      afterRestart.counters.duplicate_decisions + afterRestart.counters.duplicate_outcomes > 0,
      'duplicates ignored',
    );

    t.match(metrics, /atp_evaluation_items\{region="eu-west",arm="champion",[^}]*count="promised"\} \d+/);
    t.match(metrics, new RegExp(`atp_evaluation_records\\{outcome="dead_lettered"\\} ${malformed.length}`));
    t.match(
      metrics,
      /atp_evaluation_rate\{region="eu-west",arm="challenger",model_version="m\d",rate="oversellRate"\}/,
    );
    t.equal(badQuery.status, 400);
    t.match(await badQuery.json(), { error: { code: 'ATP_ERR_INVALID_ARGUMENT', field: 'region' } });

    // The dead letters, with the field and reason in headers.
    const kafka = createKafkaClient({ brokers: cluster.brokers, clientId: 'dlq-reader', logger });
    const consumer = kafka.consumer({ groupId: 'dlq-reader' });
    const letters: { topic: string; field: string; reason: string; key: string }[] = [];
    await consumer.connect();
    await consumer.subscribe({
      topics: [`${decisionsTopic(REGION)}.dlq`, `${outcomesTopic(REGION)}.dlq`],
      fromBeginning: true,
    });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        letters.push({
          topic,
          field: String(message.headers?.[DLQ_HEADERS.field] ?? ''),
          reason: String(message.headers?.[DLQ_HEADERS.reason] ?? ''),
          key: String(message.key ?? ''),
        });
      },
    });
    await waitFor(() => letters.length >= malformed.length, 30_000, 'dead letters read back', 100);
    await consumer.disconnect();
    const byKey = Object.fromEntries(letters.map((l) => [l.key, l]));
    t.match(byKey['bad-1'], { topic: 'atp.decisions.eu-west.dlq', field: '$', reason: /not valid JSON/ });
    t.match(byKey['bad-2'], {
      topic: 'atp.decisions.eu-west.dlq',
      field: 'buyer_id',
      reason: /user-level data/,
    });
    t.match(byKey['bad-3'], { topic: 'order.outcomes.eu-west.dlq', field: /./ });
  },
);
