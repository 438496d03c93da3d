/**
 * The batch job end to end: the real `atp-batch` CLI against a private
 * redis-server. It publishes the directory and the batch node features as
 * versioned sets, switches the pointer, keeps a bounded history, refuses bad
 * input naming the line and field without switching anything, and the
 * features it publishes are exactly what the one feature definition
 * (NodeBatchAccumulator) computes from the same history.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import t from 'tap';
import {
  currentKey,
  RETAINED_VERSIONS,
  readBatchSet,
  readCurrentVersion,
  readDirectory,
  versionsKey,
} from '../../adapters/src/redis/redis-node-sets.js';
import { NodeBatchAccumulator } from '../../features/src/node-batch-features.js';
import { encodeEvent, type InventoryEvent } from '../../proto/v1/inventory-event.js';
import { encodeNodeInfo } from '../../proto/v1/node-directory.js';
import { encodeOutcome, type OrderOutcome } from '../../proto/v1/order-outcome.js';
import { ev, T0 } from '../helpers/events.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { TINY_NODES } from '../helpers/tiny-world.js';

const REPO = join(import.meta.dirname, '../..');
const BIN = join(REPO, 'node_modules/.bin/atp-batch');
const REGION = 'eu-west';

const redisServer = await startRedisServer();
t.teardown(() => redisServer.stop());
const redis = new Redis(redisServer.url);
t.teardown(() => redis.disconnect());
const dir = mkdtempSync(join(tmpdir(), 'atp-batch-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function batch(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BIN, [...args, '--region', REGION, '--redis', redisServer.url], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function write(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** A week of history on WH-1: receipts, a cycle count with a loss, reservations and cancellations. */
function history(): { events: { e: InventoryEvent; arrivalMs: number }[]; outcomes: OrderOutcome[] } {
  const events: { e: InventoryEvent; arrivalMs: number }[] = [];
  let seq = 0;
  const at = (h: number) => T0 + h * 3_600_000;
  for (let i = 0; i < 60; i++) {
    const sku = `SKU-${i % 6}`;
    events.push({ e: ev('receipt', 5, ++seq, { sku: `R-${i}`, atMs: at(i) }), arrivalMs: at(i) + 800 });
    events.push({ e: ev('reservation', 1, ++seq, { sku, atMs: at(i) + 1 }), arrivalMs: at(i) + 1 + 1_500 });
    events.push({
      e: ev(i % 4 === 0 ? 'cancellation' : 'release', 1, ++seq, { sku, atMs: at(i) + 2 }),
      arrivalMs: at(i) + 2 + 2_000,
    });
  }
  const outcomes: OrderOutcome[] = [];
  for (let i = 0; i < 30; i++) {
    outcomes.push({
      outcomeId: `d-${i}:SKU-1`,
      decisionId: `d-${i}`,
      region: REGION,
      sku: 'SKU-1',
      node: 'WH-1',
      qty: 1,
      status: 'fulfilled',
      unitsPicked: 1,
      promisedAtMs: at(i),
      dueAtMs: at(i) + 3_600_000,
      resolvedAtMs: at(i) + (i % 5 === 0 ? 7_200_000 : 1_800_000),
      onTime: i % 5 !== 0,
    });
  }
  return { events, outcomes };
}

t.test('the directory is published as a version and the pointer switches to it', async (t) => {
  const path = write(
    'nodes.ndjson',
    TINY_NODES.map((n) => encodeNodeInfo({ ...n, region: REGION })),
  );
  const r = batch('directory', '--from', path);
  t.equal(r.status, 0, r.stderr);
  const line = JSON.parse(r.stdout.trim()) as { version: string; nodes: number };
  t.equal(line.nodes, TINY_NODES.length);
  t.equal(await readCurrentVersion(redis, REGION, 'dir'), line.version);
  const set = await readDirectory(redis, REGION, line.version);
  t.same(set?.nodes.map((n) => n.nodeId).sort(), TINY_NODES.map((n) => n.nodeId).sort());
  const again = batch('directory', '--from', path);
  t.equal(JSON.parse(again.stdout.trim()).version, line.version, 'same input, same version');
});

t.test(
  'a directory with one bad line is refused whole, naming line and field; nothing switches',
  async (t) => {
    const before = await readCurrentVersion(redis, REGION, 'dir');
    const lines = TINY_NODES.map((n) => encodeNodeInfo({ ...n, region: REGION }));
    lines[1] = lines[1]!.replace('"zone":"', '"zone":"12 High St ');
    const r = batch('directory', '--from', write('bad-nodes.ndjson', lines));
    t.equal(r.status, 2);
    t.match(r.stderr, /ATP_ERR_BATCH_INPUT_INVALID .*bad-nodes\.ndjson:2: zone/);
    t.equal(await readCurrentVersion(redis, REGION, 'dir'), before, 'the previous directory stays current');
  },
);

t.test('batch features equal the one feature definition over the same window', async (t) => {
  const { events, outcomes } = history();
  const evPath = write(
    'events.ndjson',
    events.map(({ e, arrivalMs }) =>
      JSON.stringify({ ...JSON.parse(encodeEvent(e)), delivered_at_ms: arrivalMs }),
    ),
  );
  const outPath = write('outcomes.ndjson', [...outcomes.map(encodeOutcome), '{"schema":"order.outcome.v1"}']);
  const nowMs = T0 + 7 * 86_400_000;
  const r = batch('features', '--events-file', evPath, '--outcomes-file', outPath, '--now-ms', String(nowMs));
  t.equal(r.status, 0, r.stderr);
  const line = JSON.parse(r.stdout.trim());
  t.equal(line.eventsUsed, events.length);
  t.equal(line.outcomesUsed, outcomes.length);
  t.equal(line.skipped.outcomes.invalid, 1, 'the malformed outcome line is skipped and counted');
  t.equal(await readCurrentVersion(redis, REGION, 'batch'), line.version);

  const expected = new NodeBatchAccumulator();
  for (const { e, arrivalMs } of events) expected.observe(e, arrivalMs);
  for (const o of outcomes) expected.observeOutcome(o);
  const set = await readBatchSet(redis, REGION, line.version);
  t.same(set?.features, expected.result());
  const wh = set?.features.get('WH-1');
  t.equal(wh?.handlingAdherence, 24 / 30, 'handling adherence from the outcomes: on time / fulfilled');
  t.equal(wh?.cancelRate, 15 / 60, 'cancellations / ended reservations');
  t.equal(set?.meta.windowEndMs, nowMs);
});

t.test('a window without history is refused and the current set keeps serving', async (t) => {
  const before = await readCurrentVersion(redis, REGION, 'batch');
  const { events } = history();
  const evPath = write(
    'old-events.ndjson',
    events.map(({ e }) => encodeEvent(e)),
  );
  const r = batch(
    'features',
    '--events-file',
    evPath,
    '--now-ms',
    String(T0 + 400 * 86_400_000),
    '--window-h',
    '24',
  );
  t.equal(r.status, 1);
  t.match(r.stderr, /ATP_ERR_BATCH_EMPTY_WINDOW/);
  t.equal(await readCurrentVersion(redis, REGION, 'batch'), before);
});

t.test('only the last versions are retained after a switch', async (t) => {
  const { events } = history();
  const evPath = write(
    'events-all.ndjson',
    events.map(({ e }) => encodeEvent(e)),
  );
  const versions: string[] = [];
  for (let d = 3; d <= 7; d++) {
    const r = batch('features', '--events-file', evPath, '--now-ms', String(T0 + d * 86_400_000));
    t.equal(r.status, 0, r.stderr);
    versions.push(JSON.parse(r.stdout.trim()).version);
  }
  const kept = await redis.lrange(versionsKey(REGION, 'batch'), 0, -1);
  t.equal(kept.length, RETAINED_VERSIONS);
  t.same(kept, versions.slice(-RETAINED_VERSIONS).reverse());
  t.equal(await redis.get(currentKey(REGION, 'batch')), versions.at(-1));
  t.equal(await readBatchSet(redis, REGION, versions[0]!), null, 'the oldest set is gone');
});

t.test('bad flags are refused naming the flag', async (t) => {
  const r = spawnSync(
    BIN,
    ['features', '--region', 'EU_WEST', '--redis', redisServer.url, '--events-file', 'x'],
    {
      encoding: 'utf8',
    },
  );
  t.equal(r.status, 2);
  t.match(r.stderr, /ATP_ERR_INVALID_FLAG --region/);
  const r2 = spawnSync(BIN, ['features', '--region', REGION, '--redis', 'http://x', '--events-file', 'x'], {
    encoding: 'utf8',
  });
  t.equal(r2.status, 2);
  t.match(r2.stderr, /--redis/);
});
