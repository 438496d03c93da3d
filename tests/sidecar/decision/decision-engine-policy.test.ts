import t from 'tap';
import type { MemoryStreamHealth } from '../../../adapters/src/memory/memory-stream-health.js';
import { FRESHNESS_SLO_MS } from '../../../features/src/freshness.js';
import { defaultControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import type { CheckRequest } from '../../../proto/v1/decision.js';
import type { MemoryReservationStore } from '../../../sidecar/src/adapters/memory/memory-reservation-store.js';
import { MemorySink } from '../../../sidecar/src/decision-log/decision-log-sinks.js';
import { createSidecar } from '../../../sidecar/src/sidecar.js';
import { ev, T0 } from '../../helpers/events.js';
import { TINY_NODES, tinySidecar } from '../../helpers/tiny-world.js';

const NOW = T0 + 60_000;

function req(
  items: [string, number][],
  channel: 'checkout' | 'browse' = 'checkout',
  id = 'r-1',
): CheckRequest {
  return {
    requestId: id,
    region: 'eu-west',
    buyerZone: 'Z1-1',
    channel,
    items: items.map(([sku, qty]) => ({ sku, qty })),
  };
}

t.test('a compliance hold denies its SKU and beats a kill switch', async (t) => {
  const sc = tinySidecar();
  sc.control.setSnapshot({
    ...defaultControlSnapshot('rules-only'),
    version: 2,
    holds: [{ sku: 'IN-STOCK', reason: 'recall' }],
    killSwitches: [{ scope: 'sku', target: 'IN-STOCK', reason: 'x' }],
  });
  const d = await sc.engine.check(req([['IN-STOCK', 1]]));
  t.equal(d.decision, 'deny');
  t.same(d.items[0]!.reasons, ['COMPLIANCE_HOLD']);
});

t.test('a kill switch gets ATP out of the way: allow with KILL_SWITCH and no hold taken', async (t) => {
  const sc = tinySidecar();
  sc.control.setSnapshot({
    ...defaultControlSnapshot('rules-only'),
    version: 2,
    killSwitches: [{ scope: 'region', target: 'eu-west', reason: 'incident' }],
  });
  const d = await sc.engine.check(req([['OUT', 1]]));
  t.equal(d.decision, 'allow');
  t.same(d.items[0]!.reasons, ['KILL_SWITCH']);
  t.equal((sc.reservations as MemoryReservationStore).size, 0);
});

t.test(
  'a checkout takes a soft hold; when the best node is fully promised the next option is held',
  async (t) => {
    const sc = tinySidecar();
    const store = sc.reservations as MemoryReservationStore;
    // ST-1 has 50 units and a 2-unit buffer: the rule lets it promise; holds stop at 50.
    const first = await sc.engine.check(req([['IN-STOCK', 30]]));
    t.equal(first.items[0]!.options[0]!.nodeId, 'ST-1');
    t.equal(store.promisedUnits('IN-STOCK', 'ST-1'), 30);
    const second = await sc.engine.check(req([['IN-STOCK', 30]], 'checkout', 'r-2'));
    t.equal(second.decision, 'allow');
    t.not(second.items[0]!.options[0]!.nodeId, 'ST-1', 'ST-1 has only 20 unpromised units left');
    t.equal(store.promisedUnits('IN-STOCK', 'ST-1'), 30);
    t.equal(await store.release('IN-STOCK', first.decisionId), true);
    t.equal(store.promisedUnits('IN-STOCK', 'ST-1'), 0, 'released on cancel');
  },
);

t.test('a basket that cannot hold every item is denied and its other holds are released', async (t) => {
  const sc = tinySidecar();
  const store = sc.reservations as MemoryReservationStore;
  // Promise away every unit of IN-STOCK (50 at each of three nodes, qty 48 fits each once).
  for (let i = 0; i < 3; i++)
    t.equal((await sc.engine.check(req([['IN-STOCK', 48]], 'checkout', `fill-${i}`))).decision, 'allow');
  const before = store.size;
  const d = await sc.engine.check(
    req(
      [
        ['LOW-2', 1],
        ['IN-STOCK', 48],
      ],
      'checkout',
      'basket',
    ),
  );
  t.equal(d.decision, 'deny');
  t.equal(store.size, before, 'no hold left behind');
});

t.test('shadow mode and browse decide without taking holds', async (t) => {
  const sc = tinySidecar();
  sc.control.setSnapshot({
    ...defaultControlSnapshot('rules-only'),
    version: 3,
    routes: [{ prefix: '/checkout', mode: 'shadow', rolloutPct: 100 }],
  });
  const d = await sc.engine.check(req([['IN-STOCK', 1]]));
  t.equal(d.mode, 'shadow');
  t.equal(d.decision, 'allow');
  await sc.engine.check(req([['IN-STOCK', 1]], 'browse'));
  t.equal((sc.reservations as MemoryReservationStore).size, 0);
});

t.test('a seller at its daily order cap is not promised', async (t) => {
  const sc = tinySidecar();
  sc.control.setSnapshot({
    ...defaultControlSnapshot('rules-only'),
    version: 4,
    sellers: [{ nodeId: 'SL-1', dailyOrderCap: 1 }],
  });
  const onlySeller = { ...req([['SELLER-ONLY', 1]]), buyerZone: 'Z4-4' };
  sc.features.apply(ev('receipt', 10, 1, { sku: 'SELLER-ONLY', node: 'SL-1', atMs: T0 }));
  const first = await sc.engine.check(onlySeller);
  t.equal(first.decision, 'allow');
  t.ok(await sc.reservations.confirm('SELLER-ONLY', first.decisionId, NOW), 'the order confirms the hold');
  const second = await sc.engine.check({ ...onlySeller, requestId: 'r-2' });
  t.equal(second.decision, 'deny');
  t.same(second.items[0]!.reasons, ['SELLER_DAILY_CAP']);
});

t.test('stream lag beyond the SLO is flagged and the lag buffer comes off the stock', async (t) => {
  const sc = tinySidecar();
  (sc.streamHealth as MemoryStreamHealth).setLagMs(FRESHNESS_SLO_MS.warehouse + 1_000);
  const d = await sc.engine.check(req([['IN-STOCK', 1]]));
  t.ok(d.degradations.includes('stream-lag'));
  t.same(
    d.items[0]!.options.map((o) => o.nodeId),
    ['SL-1'],
    'rules promise nothing from first-party nodes past their 5 s SLO; the seller (60 s SLO) still counts',
  );
});

t.test('the decision log records both sides, versions and no user-level data', async (t) => {
  const sink = new MemorySink();
  const sc = createSidecar({ region: 'eu-west', clock: () => NOW, decisionLogSink: sink });
  for (const n of TINY_NODES) sc.directory.upsert(n);
  for (const n of TINY_NODES) {
    sc.features.apply(ev('heartbeat', 0, 1, { node: n.nodeId, atMs: NOW - 5_000 }));
    sc.features.apply(ev('receipt', 50, 1, { sku: 'IN-STOCK', node: n.nodeId, atMs: T0 }));
  }
  const d = await sc.engine.check(req([['IN-STOCK', 2]]));
  await sc.decisionLog!.flush();
  const [rec] = sink.records();
  t.equal(rec!.decision_id, d.decisionId);
  t.equal(rec!.schema, 'atp.decision-log.v1');
  t.equal(rec!.enforced, 'baseline');
  t.equal(rec!.model_decision, null, 'no model: no model side');
  t.equal(rec!.baseline_decision, 'allow');
  t.equal(rec!.zone, 'Z1-1');
  const items = rec!.items as Record<string, unknown>[];
  t.equal((items[0]!.candidates as unknown[]).length, 3);
  t.equal(items[0]!.reservation, 'held');
  t.notMatch(JSON.stringify(rec), /user|address|session|buyer_id/i);
});

t.test('a passed deadline ends the request with DEADLINE_EXCEEDED', async (t) => {
  const sc = tinySidecar();
  await t.rejects(sc.engine.check(req([['IN-STOCK', 1]]), { deadlineAt: performance.now() - 1 }), {
    code: 'ATP_ERR_DEADLINE_EXCEEDED',
  });
});
