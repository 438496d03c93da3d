import t from 'tap';
import { createRedisClient } from '../../../adapters/src/redis/redis-client.js';
import { RedisFeatureStore } from '../../../adapters/src/redis/redis-feature-store.js';
import { FeatureState } from '../../../features/src/feature-state.js';
import { N, R, RECORD_WIDTH } from '../../../features/src/record-layout.js';
import type { InventoryEvent } from '../../../proto/v1/inventory-event.js';
import { ev, T0 } from '../../helpers/events.js';
import { startRedisServer } from '../../helpers/redis-server.js';

const server = await startRedisServer();
t.teardown(() => server.stop());

async function store(region = `r${Math.random().toString(36).slice(2, 8)}`) {
  const client = await createRedisClient(server.url, 'write');
  const s = new RedisFeatureStore(client, region);
  t.teardown(() => client.disconnect());
  return s;
}

/** A small two-sku, two-node stream in sequence order. */
function stream(): InventoryEvent[] {
  const out: InventoryEvent[] = [];
  for (const [sku, node] of [
    ['A', 'WH-1'],
    ['A', 'ST-1'],
    ['B', 'WH-1'],
  ] as const) {
    out.push(ev('receipt', 40, 1, { sku, node }));
    out.push(ev('reservation', 3, 2, { sku, node }));
    out.push(ev('sale', 3, 3, { sku, node }));
    out.push(ev('release', 3, 4, { sku, node }));
    out.push(ev('cycle-count', 35, 5, { sku, node }));
    out.push(ev('sale', 1, 6, { sku, node }));
  }
  out.push(ev('heartbeat', 0, 1, { node: 'WH-1', atMs: T0 + 9000 }));
  return out;
}

t.test('events applied through Redis leave exactly the state FeatureState computes', async (t) => {
  const s = await store();
  const events = stream();
  const report = await s.applyEvents(events);
  t.equal(report.applied, events.length - 1);
  t.equal(report.heartbeats, 1);
  const ref = new FeatureState();
  for (const e of events) ref.apply(e);
  for (const [sku, node] of [
    ['A', 'WH-1'],
    ['A', 'ST-1'],
    ['B', 'WH-1'],
  ] as const) {
    const pair = await s.readPair(sku, node);
    t.same([...pair.rec], [...ref.get(sku, node)!], `${sku}@${node} matches slot for slot`);
    t.equal(pair.pending, null);
  }
});

t.test('one SKU read returns every candidate node with its record and liveness', async (t) => {
  const s = await store();
  await s.applyEvents(stream());
  await s.refreshNodes();
  const view = await s.readSku('A');
  t.same(view.nodeIds, ['ST-1', 'WH-1']);
  t.equal(view.recs[RECORD_WIDTH + R.onHand], 34, 'WH-1 on hand');
  t.equal(view.nodeRecs[3 + N.lastHeartbeatMs], T0 + 9000, 'WH-1 heartbeat from the node cache');
  t.equal((await s.readSku('NOPE')).nodeIds.length, 0);
});

t.test('duplicates and reordering across batches converge to the in-order state', async (t) => {
  const s = await store();
  const events = stream();
  const ref = new FeatureState();
  for (const e of events) ref.apply(e);
  // Deliver in reverse, in batches of 4, every batch twice.
  const reversed = [...events].reverse();
  for (let i = 0; i < reversed.length; i += 4) {
    const batch = reversed.slice(i, i + 4);
    await s.applyEvents(batch);
    await s.applyEvents(batch);
  }
  const pair = await s.readPair('A', 'ST-1');
  t.same([...pair.rec], [...ref.get('A', 'ST-1')!]);
  t.equal(pair.pending, null, 'nothing is left waiting');
});

t.test('an early event is held in Redis until its gap fills', async (t) => {
  const s = await store();
  await s.applyEvents([ev('receipt', 10, 1, { sku: 'C' })]);
  const r1 = await s.applyEvents([ev('sale', 2, 3, { sku: 'C' })]);
  t.same(r1.skusWithPending, ['C']);
  const held = await s.readPair('C', 'WH-1');
  t.equal(held.rec[R.onHand], 10);
  t.equal(held.pending?.length, 1);
  await s.applyEvents([ev('sale', 1, 2, { sku: 'C' })]);
  const done = await s.readPair('C', 'WH-1');
  t.equal(done.rec[R.onHand], 7);
  t.equal(done.pending, null);
});

t.test('flushGaps gives up on a gap older than the timeout', async (t) => {
  const s = await store();
  await s.applyEvents([
    ev('receipt', 10, 1, { sku: 'D', atMs: T0 }),
    ev('sale', 4, 3, { sku: 'D', atMs: T0 }),
  ]);
  const r = await s.flushGaps(['D'], T0 + 10 * 60_000);
  t.equal(r.gapsSkipped, 1);
  t.equal((await s.readPair('D', 'WH-1')).rec[R.onHand], 6);
});

t.test('two writers racing on the same pairs never lose or double-apply an event', async (t) => {
  const region = `race${Date.now()}`;
  const a = await store(region);
  const b = await store(region);
  const events: InventoryEvent[] = [ev('receipt', 1000, 1, { sku: 'E' })];
  for (let seq = 2; seq <= 201; seq++) events.push(ev('sale', 1, seq, { sku: 'E' }));
  // Both writers get every event (as a zombie and its successor after a
  // rebalance), each applying its batches one after another, in different batchings.
  const run = async (s: RedisFeatureStore, size: number) => {
    for (let i = 0; i < events.length; i += size) await s.applyEvents(events.slice(i, i + size));
  };
  await Promise.all([run(a, 10), run(b, 7)]);
  const pair = await a.readPair('E', 'WH-1');
  t.equal(pair.rec[R.onHand], 800, 'each of the 200 sales applied exactly once');
  t.equal(pair.rec[R.nextSeq], 202);
});

t.test('writes reject when Redis is down, and work again after it returns', async (t) => {
  const s = await store();
  await server.kill();
  await t.rejects(
    s.applyEvents([ev('receipt', 1, 1, { sku: 'F' })]),
    'no silent success while Redis is gone',
  );
  await server.restart();
  // The client reconnects on its own (bounded backoff).
  let ok = false;
  for (let i = 0; i < 40 && !ok; i++) {
    ok = await s.applyEvents([ev('receipt', 1, 1, { sku: 'F' })]).then(
      () => true,
      () => false,
    );
    if (!ok) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(ok, 'writes succeed after the restart');
  t.equal((await s.readPair('F', 'WH-1')).rec[R.onHand], 1);
});

t.test('a writer folds onto what it last wrote without reading the pair again', async (t) => {
  const s = await store();
  const probe = await createRedisClient(server.url, 'write');
  t.teardown(() => probe.disconnect());
  const hmgetCalls = async () =>
    Number(/cmdstat_hmget:calls=(\d+)/.exec(await probe.info('commandstats'))?.[1] ?? 0);
  await s.applyEvents([ev('receipt', 50, 1, { sku: 'G' })]);
  const before = await hmgetCalls();
  for (let seq = 2; seq <= 11; seq++) await s.applyEvents([ev('sale', 1, seq, { sku: 'G' })]);
  t.equal(await hmgetCalls(), before, 'ten more batches, no read');
  t.equal((await s.readPair('G', 'WH-1')).rec[R.onHand], 40);
  // Another process writes the pair: our cached bytes are now stale, the CAS conflicts, we re-read.
  const other = await store((s as unknown as { region: string }).region);
  await other.applyEvents([ev('sale', 5, 12, { sku: 'G' })]);
  const r = await s.applyEvents([ev('sale', 1, 13, { sku: 'G' })]);
  t.equal(r.casRetries, 1, 'one conflict, resolved by reading');
  t.equal((await s.readPair('G', 'WH-1')).rec[R.onHand], 34);
});
