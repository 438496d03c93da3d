/**
 * Issue 16 finding 5, DESIGN.md §6 "Redis lost its state": a flash sale in
 * which the regional Redis comes back empty (FLUSHALL stands in for a restart
 * without data). The reservation script used to fall back to the caller's ATP
 * hint when the (sku,node) stock record was missing, and the promised counters
 * were gone too, so the sidecars promised the stock a second time. Now a
 * missing record refuses the hold: every checkout after the loss is denied,
 * flagged `redis`, and nothing more is promised than Redis says exists (none).
 */
import t from 'tap';
import { createRedisClient } from '../../adapters/src/redis/redis-client.js';
import { promisedKey } from '../../adapters/src/redis/redis-keys.js';
import type { CheckResponse } from '../../proto/v1/decision.js';
import { connectRedisStores } from '../../sidecar/src/redis-wiring.js';
import { createSidecar } from '../../sidecar/src/sidecar.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { seedRedis } from '../helpers/redis-world.js';
import { checkout } from '../helpers/sidecar-world.js';

const REGION = 'eu-west';
const SKU = 'FLASH';
const NODE = 'WH-1';
const STOCK = 30;
/** Units held before the loss (the sale is well under way). */
const HELD_BEFORE = 20;
const BUYERS_AFTER = 40;
/** Generous: concurrent checkouts on two shared cores. */
const DEADLINE_MS = 2_000;

const server = await startRedisServer();
t.teardown(() => server.stop());

t.test('Redis restarted empty mid flash sale: no promise from the hint, answers flagged', async (t) => {
  await seedRedis(server.url, REGION, [{ sku: SKU, node: NODE, units: STOCK }]);
  const stores = await connectRedisStores(server.url, REGION);
  const sc = createSidecar({
    region: REGION,
    defaultMetrics: false,
    featureReader: stores.featureReader,
    nodeDirectory: stores.nodeDirectory,
    reservations: stores.reservations,
    closers: stores.closers,
  });
  t.teardown(() => sc.stop());
  const admin = await createRedisClient(server.url, 'write');
  t.teardown(() => admin.disconnect());
  // Read with the admin client: the reservation client's few-ms timeout is for the decision path.
  const promisedUnits = async () => Number((await admin.hget(promisedKey(REGION, SKU), NODE)) ?? 0);
  const ask = (id: string) =>
    sc.engine.check(checkout(SKU, 1, id, 'Z0-0'), { deadlineAt: performance.now() + DEADLINE_MS });

  // Healthy: HELD_BEFORE units are held, one at a time, against the record in Redis (the
  // first reads may warm up).
  let held = 0;
  for (let i = 0; i < 60 && held < HELD_BEFORE; i++) {
    const r = await ask(`before-${i}`);
    if (r.decision === 'allow') held++;
  }
  t.equal(held, HELD_BEFORE, `${HELD_BEFORE} units held before the loss`);
  t.equal(await promisedUnits(), HELD_BEFORE, 'Redis counts them');

  // Redis loses everything: stock records and promised counters. The sidecar's hot cache
  // still believes in the stock, so every checkout reaches the reservation script.
  await admin.flushall();
  const answers: CheckResponse[] = await Promise.all(
    Array.from({ length: BUYERS_AFTER }, (_, i) => ask(`after-${i}`)),
  );
  const promised = answers.filter((a) => a.decision === 'allow').length;
  const flagged = answers.filter((a) => a.degradations.includes('redis')).length;
  const reasons = new Set(answers.map((a) => a.items[0]!.reasons.join(',')));
  t.comment(
    `after the loss: ${BUYERS_AFTER} checkouts, ${promised} promised (Redis knows 0 units), ` +
      `${flagged} flagged redis, reasons ${[...reasons].join(' | ')}`,
  );
  t.comment(`units promised over the sale: ${held + promised} of ${STOCK} in stock`);
  t.equal(promised, 0, 'nothing promised beyond the stock Redis says exists (none)');
  t.equal(flagged, BUYERS_AFTER, 'every answer says the store is degraded');
  t.same([...reasons], ['RESERVATION_FAILED'], 'denied because the hold was refused');
  t.equal(await promisedUnits(), 0, 'no hold was written');

  // Once the ingester has refilled the SKU, holds are granted again, counted from the new record.
  await seedRedis(server.url, REGION, [{ sku: SKU, node: NODE, units: 2 }]);
  const refilled = await ask('refilled-1');
  t.equal(refilled.decision, 'allow', 'a refilled SKU sells again');
  t.same(refilled.degradations, []);
});

t.test('the store refuses a missing record with a code, whatever the hint says', async (t) => {
  const stores = await connectRedisStores(server.url, REGION);
  t.teardown(async () => {
    for (const c of stores.closers) await c();
  });
  const out = await stores.reservations.reserve({
    sku: 'NO-RECORD',
    nodeId: NODE,
    qty: 1,
    holdId: 'h-1',
    atpHint: 1_000,
    nowMs: Date.now(),
    ttlMs: 60_000,
  });
  t.same(out, { ok: false, promised: 0, available: -1, refusal: 'stock-missing' });
});
