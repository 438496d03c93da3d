/**
 * The durable decision stream (`serve --decision-stream`): a real sidecar's
 * HTTP decisions reach Kafka (librdkafka mock cluster) and an NDJSON file as
 * valid atp.decision.v1 events keyed by decision id; the file is accepted by
 * the real `atp-evaluate run`; a stalled sink never slows a decision, a full
 * buffer drops and counts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { readTopicSnapshot } from '../../../adapters/src/kafka/kafka-topic-reader.js';
import { EXIT_USAGE } from '../../../platform/src/flags.js';
import { silentLogger } from '../../../platform/src/logger.js';
import { decodeDecisionEvent } from '../../../proto/v1/decision-event.js';
import { decisionsTopic } from '../../../proto/v1/topics.js';
import { decisionStreamFlag, parseServeFlags } from '../../../sidecar/src/cli/serve-flags.js';
import {
  DECISION_LOG_SCHEMA,
  type DecisionLogRecord,
} from '../../../sidecar/src/decision-log/decision-log-record.js';
import {
  DECISION_STREAM_CAPACITY,
  type DecisionEventSink,
  DecisionStream,
} from '../../../sidecar/src/decision-log/decision-stream.js';
import {
  createDecisionEventSink,
  KafkaDecisionSink,
} from '../../../sidecar/src/decision-log/decision-stream-sinks.js';
import { REPO_ROOT } from '../../helpers/fixtures.js';
import { kcatAvailable, startKafkaMockCluster } from '../../helpers/kafka-mock-cluster.js';
import { startSidecarProcess } from '../../helpers/sidecar-process.js';
import { worldSidecar } from '../../helpers/sidecar-world.js';

const REGION = 'eu-west';

async function check(port: number, sku: string, qty = 1, requestId = 'r-secret-1') {
  const res = await fetch(`http://127.0.0.1:${port}/v1/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      request_id: requestId,
      buyer_zone: 'Z1-1',
      channel: 'checkout',
      items: [{ sku, qty }],
    }),
  });
  const body = (await res.json()) as { decision_id: string; decision: string };
  return { status: res.status, ...body };
}

/** Decisions over HTTP: an allow (promised at ST-1), a denial of an out-of-stock SKU, a too-large ask. */
async function decide(port: number): Promise<Map<string, string>> {
  const made = new Map<string, string>();
  for (const [i, [sku, qty]] of (
    [
      ['IN-STOCK', 1],
      ['OUT', 1],
      ['LOW', 3],
      ['IN-STOCK', 2],
    ] as const
  ).entries()) {
    const r = await check(port, sku, qty, `r-secret-${i}`);
    if (r.status !== 200) throw new Error(`check ${sku}: status ${r.status}`);
    made.set(r.decision_id, r.decision);
  }
  return made;
}

t.test('serve --decision-stream parses kafka://, file: and off, and names the flag otherwise', async (t) => {
  t.same(decisionStreamFlag('kafka://127.0.0.1:9092,b2.local:9093'), {
    kind: 'kafka',
    brokers: ['127.0.0.1:9092', 'b2.local:9093'],
  });
  t.same(decisionStreamFlag('file:/tmp/d.ndjson'), { kind: 'file', path: '/tmp/d.ndjson' });
  t.equal(decisionStreamFlag('off'), null);
  t.equal(decisionStreamFlag(undefined), null);
  for (const bad of [
    'kafka://',
    'kafka://host',
    'kafka://h:0',
    'kafka://h:70000',
    'file:',
    'redis://x:1',
    'x',
  ]) {
    t.throws(() => decisionStreamFlag(bad), { code: 'INVALID_FLAG', message: /^--decision-stream: / }, bad);
  }
  const cfg = parseServeFlags({ region: REGION, rulesOnly: true, decisionStream: 'kafka://127.0.0.1:9092' });
  t.same(cfg.decisionStream, { kind: 'kafka', brokers: ['127.0.0.1:9092'] });
});

t.test(
  'decisions made over HTTP appear on atp.decisions.<region> as valid atp.decision.v1 keyed by decision id',
  { skip: kcatAvailable() ? false : 'kcat missing' },
  async (t) => {
    const kafka = await startKafkaMockCluster(1);
    t.teardown(() => kafka.stop());
    const sc = worldSidecar({
      decisionStreamSink: new KafkaDecisionSink(kafka.brokers, REGION, silentLogger()),
    });
    const { httpPort } = await sc.start();
    let stopped = false;
    t.teardown(() => (stopped ? undefined : sc.stop()));
    const made = await decide(httpPort);
    await sc.decisionStream!.flush();
    t.equal(sc.decisionStream!.stats.published, made.size);
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    t.match(metrics, new RegExp(`^atp_decision_stream_published_total ${made.size}$`, 'm'));
    t.match(metrics, /^atp_decision_stream_dropped_total 0$/m);
    await sc.stop();
    stopped = true;

    const seen = new Map<string, ReturnType<typeof decodeDecisionEvent>>();
    await readTopicSnapshot(
      decisionsTopic(REGION),
      { brokers: kafka.brokers, clientId: 'decision-stream-test', logger: silentLogger() },
      (r) => {
        const text = r.value!.toString();
        t.notMatch(text, /r-secret|Z1-1|request_id|zone/, 'no request id or zone on the stream');
        const e = decodeDecisionEvent(text); // the contract's validator: throws naming the field
        t.equal(r.key!.toString(), e.decisionId, 'keyed by decision id');
        seen.set(e.decisionId, e);
      },
    );
    t.same([...seen.keys()].sort(), [...made.keys()].sort(), 'every decision, once');
    for (const [id, decision] of made) {
      const e = seen.get(id)!;
      t.equal(e.region, REGION);
      t.equal(e.arm, 'none');
      t.equal(e.items[0]!.promised, decision === 'allow', `${id}: promised iff allowed`);
    }
    const promised = [...seen.values()].find((e) => e.items[0]!.promised)!;
    t.equal(promised.items[0]!.node, 'ST-1');
    t.equal(promised.items[0]!.nodeType, 'store', 'node type from the node directory');
  },
);

t.test('file mode writes NDJSON that the real atp-evaluate run accepts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atp-decision-stream-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'decisions.ndjson');
  const target = decisionStreamFlag(`file:${file}`)!;
  const sc = worldSidecar({ decisionStreamSink: createDecisionEventSink(target, REGION, silentLogger()) });
  const { httpPort } = await sc.start();
  const made = await decide(httpPort);
  await sc.stop();
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  t.same(lines.map((l) => decodeDecisionEvent(l).decisionId).sort(), [...made.keys()].sort());

  const outcomes = join(dir, 'outcomes.ndjson');
  writeFileSync(outcomes, '');
  const db = join(dir, 'eval.sqlite');
  const run = spawnSync(
    join(REPO_ROOT, 'node_modules/.bin/atp-evaluate'),
    [
      'run',
      '--region',
      REGION,
      '--db',
      db,
      '--decisions-file',
      file,
      '--outcomes-file',
      outcomes,
      '--http-port',
      'off',
      '--close-all',
      '--log-level',
      'silent',
    ],
    { encoding: 'utf8', timeout: 25_000 },
  );
  t.equal(run.status, 0, `atp-evaluate exit 0 (stderr: ${run.stderr.slice(0, 500)})`);
  const report = spawnSync(
    join(REPO_ROOT, 'node_modules/.bin/atp-evaluate'),
    ['report', '--db', db, '--json'],
    { encoding: 'utf8', timeout: 25_000 },
  );
  t.equal(report.status, 0, `atp-evaluate report exit 0 (stderr: ${report.stderr.slice(0, 500)})`);
  const figures = JSON.parse(report.stdout) as {
    counters: Record<string, number>;
    totals: { region: string; arm: string; segment: unknown; counts: Record<string, number> }[];
  };
  t.equal(figures.counters.records_applied, made.size, 'the join applied every decision');
  t.equal(figures.counters.dead_lettered, 0);
  const total = figures.totals.find((r) => r.region === REGION && r.arm === 'none' && r.segment === null)!;
  t.equal(total.counts.requested, made.size);
  t.equal(total.counts.promised, [...made.values()].filter((d) => d === 'allow').length);
  const dlq = `${db}.dlq.ndjson`;
  t.ok(!existsSync(dlq) || readFileSync(dlq, 'utf8').trim() === '', 'no dead letters');
});

function rec(i: number): DecisionLogRecord {
  return {
    schema: DECISION_LOG_SCHEMA,
    ts: 1_700_000_000_000 + i,
    decisionId: `d-${i}`,
    requestId: `r-${i}`,
    region: REGION,
    zone: 'Z1-1',
    channel: 'checkout',
    mode: 'enforce',
    enforced: 'baseline',
    decision: 'deny',
    modelDecision: null,
    baselineDecision: 'deny',
    modelVersion: 'rules-only',
    rulesVersion: 'rules-v0',
    degradations: [],
    latencyUs: 10,
    items: [],
  };
}

/** A sink whose publish hangs until released (a broker that stopped answering). */
function stalledSink(): DecisionEventSink & { release(): void; calls: number } {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const s = {
    calls: 0,
    async publish() {
      s.calls++;
      await gate;
    },
    async close() {},
    release: () => release(),
  };
  return s;
}

t.test('a full buffer drops and counts without blocking the hot path', async (t) => {
  const sink = stalledSink();
  const stream = new DecisionStream(sink, { nodeType: () => undefined, capacity: 4 });
  for (let i = 0; i < 4; i++) stream.push(rec(i));
  const flushing = stream.flush(); // takes all 4 out of the buffer, then hangs in publish
  t.equal(sink.calls, 1);
  const t0 = performance.now();
  for (let i = 4; i < 1_004; i++) stream.push(rec(i));
  const pushMs = performance.now() - t0;
  t.equal(stream.pending, 4, 'the buffer stays bounded');
  t.equal(stream.stats.dropped, 996, 'everything past capacity dropped and counted');
  t.ok(pushMs < 50, `1000 pushes against a stalled sink took ${pushMs.toFixed(2)} ms`);
  sink.release();
  await flushing;
  t.equal(
    stream.stats.published,
    8,
    'the in-flight batch and the buffered 4 went out once the sink recovered',
  );
});

t.test('a stalled sink never slows or fails a sidecar decision; drops reach /metrics', async (t) => {
  const sink = stalledSink();
  const sc = worldSidecar({ decisionStreamSink: sink });
  const { httpPort } = await sc.start();
  t.teardown(async () => {
    sink.release();
    await sc.stop();
  });
  const stream = sc.decisionStream!;
  // Fill the real (default-capacity) buffer directly, as a long broker outage would.
  let i = 0;
  while (stream.pending < DECISION_STREAM_CAPACITY) stream.push(rec(i++));
  void stream.flush(); // its first batch is in flight and stuck
  while (stream.pending < DECISION_STREAM_CAPACITY) stream.push(rec(i++));
  const before = stream.stats.dropped;
  const t0 = performance.now();
  const made = await decide(httpPort);
  const ms = performance.now() - t0;
  t.equal(made.size, 4, 'every decision answered');
  t.ok(ms < 2_000, `4 decisions took ${ms.toFixed(0)} ms with the sink stalled`);
  t.equal(stream.stats.dropped - before, 4, 'their events were dropped and counted');
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  t.match(metrics, new RegExp(`^atp_decision_stream_dropped_total ${stream.stats.dropped}$`, 'm'));
});

t.test(
  'atp-sidecar serve --decision-stream file:PATH streams from the process; a bad value is refused',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'atp-decision-stream-proc-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'decisions.ndjson');
    const sp = await startSidecarProcess([
      '--region',
      REGION,
      '--rules-only',
      '--http-port',
      '0',
      '--grpc-port',
      '0',
      '--decision-stream',
      `file:${file}`,
    ]);
    let r: Awaited<ReturnType<typeof check>>;
    try {
      r = await check(sp.httpPort, 'ANY-SKU');
    } finally {
      await sp.stop();
    }
    t.equal(r.status, 200);
    const events = readFileSync(file, 'utf8').trim().split('\n').map(decodeDecisionEvent);
    t.same(
      events.map((e) => e.decisionId),
      [r.decision_id],
    );
    t.equal(events[0]!.items[0]!.nodeType, 'none', 'an empty world: no candidate, no node');

    const bad = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'sidecar/src/main.ts',
        'serve',
        '--region',
        REGION,
        '--decision-stream',
        'kafka://nope',
      ],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 25_000 },
    );
    t.equal(bad.status, EXIT_USAGE);
    t.match(bad.stderr, /--decision-stream: expected host:port brokers/);
  },
);
