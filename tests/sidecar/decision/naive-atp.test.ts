/**
 * `--enforce naive`: the closed-loop world's reference policy answers with
 * stock only (on hand - reserved >= qty at a serviceable node), ranks its
 * options by the usual ranking, still holds at checkout, and the decision
 * log says the naive side answered.
 */
import t from 'tap';
import type { MemoryStreamHealth } from '../../../adapters/src/memory/memory-stream-health.js';
import type { CheckRequest } from '../../../proto/v1/decision.js';
import type { MemoryReservationStore } from '../../../sidecar/src/adapters/memory/memory-reservation-store.js';
import type { EnforcedSide } from '../../../sidecar/src/decision/ports.js';
import { MemorySink } from '../../../sidecar/src/decision-log/decision-log-sinks.js';
import { createSidecar, type Sidecar } from '../../../sidecar/src/sidecar.js';
import { ev, T0 } from '../../helpers/events.js';
import { TINY_NODES } from '../../helpers/tiny-world.js';

const NOW = T0 + 60_000;

/** The tiny world (IN-STOCK everywhere, LOW: 1 unit at the store, OUT: none) with a chosen enforced side. */
function world(enforce: EnforcedSide): { sc: Sidecar; sink: MemorySink } {
  const sink = new MemorySink();
  const sc = createSidecar({ region: 'eu-west', clock: () => NOW, enforce, decisionLogSink: sink });
  for (const n of TINY_NODES) sc.directory.upsert(n);
  for (const n of TINY_NODES) {
    sc.features.apply(ev('heartbeat', 0, 1, { node: n.nodeId, atMs: NOW - 5_000 }));
    sc.features.apply(ev('receipt', 50, 1, { sku: 'IN-STOCK', node: n.nodeId, atMs: T0 }));
  }
  sc.features.apply(ev('receipt', 1, 1, { sku: 'LOW', node: 'ST-1', atMs: T0 }));
  sc.features.apply(ev('receipt', 5, 1, { sku: 'OUT', node: 'WH-1', atMs: T0 }));
  sc.features.apply(ev('sale', 5, 2, { sku: 'OUT', node: 'WH-1', atMs: T0 + 1000 }));
  return { sc, sink };
}

function req(
  sku: string,
  qty: number,
  id = 'r-1',
  channel: 'checkout' | 'browse' = 'checkout',
): CheckRequest {
  return { requestId: id, region: 'eu-west', buyerZone: 'Z1-1', channel, items: [{ sku, qty }] };
}

async function logged(sc: Sidecar, sink: MemorySink): Promise<Record<string, any>[]> {
  await sc.decisionLog?.stop();
  return sink.records() as Record<string, any>[];
}

t.test('naive promises the last unit the rule baseline holds back, and holds it', async (t) => {
  const rules = world('baseline');
  const base = await rules.sc.engine.check(req('LOW', 1));
  t.equal(base.decision, 'deny', 'the baseline keeps a safety buffer');
  t.same(base.items[0]!.reasons, ['SAFETY_BUFFER']);

  const { sc, sink } = world('naive');
  sc.decisionLog?.start();
  const d = await sc.engine.check(req('LOW', 1));
  t.equal(d.decision, 'allow');
  t.same(d.items[0]!.reasons, ['ATP_OK']);
  t.same(
    d.items[0]!.options.map((o) => o.nodeId),
    ['ST-1'],
  );
  t.equal(
    (sc.reservations as MemoryReservationStore).promisedUnits('LOW', 'ST-1'),
    1,
    'a soft hold is taken',
  );
  // The unit is promised: the next checkout finds nothing left to hold.
  const again = await sc.engine.check(req('LOW', 1, 'r-2'));
  t.equal(again.decision, 'deny');
  t.same(again.items[0]!.reasons, ['RESERVATION_FAILED']);

  const recs = await logged(sc, sink);
  t.equal(recs.length, 2);
  t.equal(recs[0]!.enforced, 'naive', 'the decision log says the naive side answered');
  t.equal(recs[0]!.baseline_decision, 'deny', 'the baseline is still logged beside it');
  t.equal(recs[0]!.items[0].final.available, true);
  t.equal(recs[0]!.items[0].candidates[0].reason, 'ATP_OK');
});

t.test('naive denies short stock with the stock reasons and ranks options like the others', async (t) => {
  const { sc } = world('naive');
  const out = await sc.engine.check(req('OUT', 1));
  t.equal(out.decision, 'deny');
  t.same(out.items[0]!.reasons, ['INSUFFICIENT_ATP']);
  const many = await sc.engine.check(req('IN-STOCK', 51, 'r-3'));
  t.equal(many.decision, 'deny', 'no single node has 51 units');

  const d = await sc.engine.check(req('IN-STOCK', 2, 'r-4', 'browse'));
  t.equal(d.decision, 'allow');
  const ids = d.items[0]!.options.map((o) => o.nodeId);
  t.same(ids, ['ST-1', 'WH-1', 'SL-1'], 'every node with stock, nearest store first');
  const scores = d.items[0]!.options.map((o) => o.score);
  t.same(
    scores,
    [...scores].sort((a, b) => b - a),
    'ranked by score',
  );
  t.equal(d.items[0]!.unitsP10, 150, 'units are the plain sum of sellable stock');
});

t.test('naive ignores the lag buffer the other sides take off the stock', async (t) => {
  const naive = world('naive');
  const rules = world('baseline');
  for (const w of [naive, rules]) (w.sc.streamHealth as MemoryStreamHealth).setLagMs(600_000);
  const n = await naive.sc.engine.check(req('IN-STOCK', 50, 'r-5', 'browse'));
  const b = await rules.sc.engine.check(req('IN-STOCK', 50, 'r-5', 'browse'));
  t.ok(n.degradations.includes('stream-lag'), 'the lag is still reported');
  t.equal(b.decision, 'deny', 'the baseline takes a lag buffer off 50 units');
  t.equal(n.decision, 'allow', 'naive promises every unit on hand');
});
