import t from 'tap';
import { createRedisClient } from '../../../../adapters/src/redis/redis-client.js';
import { holdsKey, promisedKey } from '../../../../adapters/src/redis/redis-keys.js';
import { RedisReservationStore } from '../../../../sidecar/src/adapters/redis/redis-reservation-store.js';
import { startRedisServer } from '../../../helpers/redis-server.js';
import { seedRedis } from '../../../helpers/redis-world.js';

const server = await startRedisServer();
t.teardown(() => server.stop());

async function stores(region: string, n = 1) {
  const out: RedisReservationStore[] = [];
  for (let i = 0; i < n; i++) {
    const c = await createRedisClient(server.url, 'write');
    t.teardown(() => c.disconnect());
    out.push(new RedisReservationStore(c, region));
  }
  return out;
}

const NOW = Date.now();
const hold = (holdId: string, qty = 1, nowMs = NOW, ttlMs = 60_000) => ({
  sku: 'S',
  nodeId: 'WH-1',
  qty,
  holdId,
  atpHint: 0,
  nowMs,
  ttlMs,
});

t.test('holds are granted from the stock record in Redis until it is all promised', async (t) => {
  await seedRedis(server.url, 'r1', [{ sku: 'S', node: 'WH-1', units: 5 }]);
  const [s] = await stores('r1');
  t.same(await s!.reserve(hold('a', 3)), { ok: true, promised: 3, available: 5 });
  t.same(await s!.reserve(hold('b', 3)), { ok: false, promised: 3, available: 5 }, 'only 2 left');
  t.equal((await s!.reserve(hold('c', 2))).ok, true);
  t.equal((await s!.reserve(hold('a', 3))).ok, true, 'a repeated hold id is idempotent');
  t.equal(await s!.promisedUnits('S', 'WH-1'), 5);
});

t.test('hundreds of concurrent holds from several clients never exceed the stock', async (t) => {
  await seedRedis(server.url, 'r2', [{ sku: 'S', node: 'WH-1', units: 100 }]);
  const clients = await stores('r2', 4);
  const results = await Promise.all(
    Array.from({ length: 600 }, (_, i) => clients[i % 4]!.reserve(hold(`h-${i}`))),
  );
  const granted = results.filter((r) => r.ok).length;
  t.equal(granted, 100, 'exactly the 100 units are promised');
  t.equal(await clients[0]!.promisedUnits('S', 'WH-1'), 100);
});

t.test('release frees the units at once; expiry frees them after the TTL', async (t) => {
  await seedRedis(server.url, 'r3', [{ sku: 'S', node: 'WH-1', units: 2 }]);
  const [s] = await stores('r3');
  await s!.reserve(hold('a', 1, NOW, 1_000));
  await s!.reserve(hold('b', 1, NOW, 60_000));
  t.equal((await s!.reserve(hold('c', 1))).ok, false);
  t.equal(await s!.release('S', 'b'), true);
  t.equal(await s!.release('S', 'b'), false, 'idempotent');
  t.equal((await s!.reserve(hold('c', 1))).ok, true, 'the released unit');
  t.equal((await s!.reserve(hold('d', 1, NOW + 2_000))).ok, true, 'a has expired by then');
  t.equal(await s!.promisedUnits('S', 'WH-1'), 2);
});

t.test('confirm keeps the hold for the bridge period and counts the order for the day', async (t) => {
  await seedRedis(server.url, 'r4', [{ sku: 'S', node: 'WH-1', units: 1 }]);
  const [s] = await stores('r4');
  await s!.reserve(hold('a', 1, NOW, 1_000));
  t.equal(await s!.confirm('S', 'a', NOW), true);
  t.equal(await s!.confirm('S', 'zzz', NOW), false, 'unknown hold');
  t.equal(
    (await s!.reserve(hold('b', 1, NOW + 5_000))).ok,
    false,
    'confirmed: still counted after the soft TTL',
  );
  t.equal(s!.ordersToday('WH-1', NOW), 1);
  await s!.refreshOrders();
  t.equal(s!.ordersToday('WH-1', NOW), 1, 'read back from Redis');
});

t.test('every key of a SKU shares its cluster hash slot and expires when idle', async (t) => {
  const c = await createRedisClient(server.url, 'write');
  t.teardown(() => c.disconnect());
  const slot = async (k: string) => Number(await c.call('CLUSTER', 'KEYSLOT', k).catch(() => -1));
  const s1 = await slot(holdsKey('r4', 'S'));
  if (s1 === -1) {
    // Not in cluster mode: compare the hash tags instead.
    t.match(holdsKey('r4', 'S'), /\{S\}/);
    t.match(promisedKey('r4', 'S'), /\{S\}/);
  } else {
    t.equal(await slot(promisedKey('r4', 'S')), s1);
  }
  t.ok((await c.pttl(holdsKey('r4', 'S'))) > 0, 'hold keys carry a TTL');
});
