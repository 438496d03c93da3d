import t from 'tap';
import { etaHours, serves } from '../../../features/src/node-profile.js';
import type { SimCheckoutRecord, SimTruthRecord } from '../../../training/src/simulator/sim-record.js';
import { collect } from './sim-fixtures.js';

const EVENTS = 150_000;
const { sim, records, events, checkouts, outcomes } = collect({ seed: 7, maxEvents: EVENTS });
const nodes = new Map(sim.world.nodes.map((n) => [n.nodeId, n]));
const handlingMs = (id: string) => Math.round(nodes.get(id)!.handlingHours * 3_600_000);

t.test('candidates are the stocking nodes that serve the buyer zone, by ETA', async (t) => {
  let bad = 0;
  for (const c of checkouts) {
    const want = (sim.world.stocking.get(c.sku) ?? [])
      .map((id) => nodes.get(id)!)
      .filter((n) => serves(n, c.buyerZone))
      .sort((a, b) => etaHours(a, c.buyerZone) - etaHours(b, c.buyerZone) || (a.nodeId < b.nodeId ? -1 : 1))
      .map((n) => n.nodeId);
    if (want.join() !== c.candidates.join()) bad++;
    if (c.promisedNode !== null && !c.candidates.includes(c.promisedNode)) bad++;
    if (c.region !== 'eu-west' || c.channel !== 'checkout') bad++;
  }
  t.equal(bad, 0);
});

t.test('quantities are mostly 1, sometimes 2 to 5', async (t) => {
  const ones = checkouts.filter((c) => c.qty === 1).length / checkouts.length;
  t.ok(ones > 0.8 && ones < 0.9, `qty 1 share ${ones}`);
  t.ok(checkouts.every((c) => c.qty >= 1 && c.qty <= 5));
  t.ok(checkouts.some((c) => c.qty === 5));
});

t.test('each checkout gets one outcome after its last candidate pick time', async (t) => {
  const byId = new Map<string, { c: SimCheckoutRecord; pos: number }>();
  records.forEach((r, pos) => {
    if (r.type === 'checkout') byId.set(r.checkoutId, { c: r, pos });
  });
  const seen = new Set<string>();
  let bad = 0;
  records.forEach((r, pos) => {
    if (r.type !== 'outcome') return;
    const hit = byId.get(r.checkoutId);
    if (hit === undefined || hit.pos > pos || seen.has(r.checkoutId)) {
      bad++;
      return;
    }
    seen.add(r.checkoutId);
    const c = hit.c;
    const due = c.atMs + Math.max(0, ...c.candidates.map(handlingMs));
    if (r.atMs !== due || r.feasible.length !== c.candidates.length || r.promisedNode !== c.promisedNode)
      bad++;
    if (r.sku !== c.sku || r.qty !== c.qty) bad++;
  });
  t.equal(bad, 0);
  // The world stopped no earlier than the last checkout: everything due before it has its outcome.
  const stopMs = checkouts.at(-1)!.atMs;
  const due = checkouts.filter((c) => c.atMs + Math.max(0, ...c.candidates.map(handlingMs)) < stopMs);
  t.ok(due.length > checkouts.length / 2, `${due.length} of ${checkouts.length} checkouts were due`);
  t.equal(due.filter((c) => !seen.has(c.checkoutId)).length, 0, 'every due checkout has its outcome');
});

t.test('outcome fields agree with each other', async (t) => {
  const byId = new Map(checkouts.map((c) => [c.checkoutId, c]));
  let bad = 0;
  const note = (why: string) => {
    if (bad++ < 5) t.fail(why);
  };
  for (const o of outcomes) {
    const c = byId.get(o.checkoutId)!;
    const k = o.promisedNode === null ? -1 : c.candidates.indexOf(o.promisedNode);
    if (o.promisedNode === null) {
      if (o.pickSucceeded !== null || o.oversold || o.cancelledBy !== null)
        note(`${o.checkoutId} not promised`);
      continue;
    }
    if (o.oversold && (o.pickSucceeded !== false || o.feasible[k] !== false || o.cancelledBy !== null)) {
      note(`${o.checkoutId} oversold`);
    }
    if (o.pickSucceeded === true && o.feasible[k] !== true) note(`${o.checkoutId} picked without stock`);
    if (o.cancelledBy === 'buyer' && o.pickSucceeded !== null) note(`${o.checkoutId} buyer cancel`);
    if (
      o.cancelledBy === 'seller' &&
      (o.pickSucceeded !== false || nodes.get(o.promisedNode)!.nodeType !== 'seller')
    ) {
      note(`${o.checkoutId} node cancel`);
    }
  }
  t.equal(bad, 0);
  const cancelled = outcomes.filter((o) => o.cancelledBy !== null);
  t.ok(cancelled.some((o) => o.cancelledBy === 'buyer') && cancelled.some((o) => o.cancelledBy === 'seller'));
});

t.test('a failed pick is followed by a cycle count of that shelf', async (t) => {
  const byId = new Map(checkouts.map((c) => [c.checkoutId, c]));
  const counts = new Map<string, number[]>();
  for (const { event: e } of events) {
    if (e.kind !== 'cycle-count') continue;
    const key = `${e.sku}|${e.node}`;
    counts.set(key, [...(counts.get(key) ?? []), e.eventTimeMs]);
  }
  let lastMs = 0;
  for (const r of events) lastMs = Math.max(lastMs, r.event.eventTimeMs);
  const windowMs = sim.config.failedPickCountMinutes[1] * 60_000;
  let checked = 0;
  let missing = 0;
  for (const o of outcomes) {
    if (!o.oversold) continue;
    const c = byId.get(o.checkoutId)!;
    const pickMs = c.atMs + handlingMs(o.promisedNode!);
    if (pickMs + windowMs >= lastMs) continue;
    checked++;
    const times = counts.get(`${o.sku}|${o.promisedNode}`) ?? [];
    if (!times.some((ms) => ms >= pickMs && ms <= pickMs + windowMs)) missing++;
  }
  t.ok(checked > 50, `${checked} failed picks checked`);
  t.equal(missing, 0);
});

t.test('flash sales multiply demand for hot SKUs', async (t) => {
  const windowMs = 600_000;
  const perSku = new Map<string, Map<number, number>>();
  const hot = new Set(sim.world.skus.filter((s) => s.hot).map((s) => s.sku));
  for (const c of checkouts) {
    if (!hot.has(c.sku)) continue;
    const w = perSku.get(c.sku) ?? new Map<number, number>();
    const bucket = Math.floor(c.atMs / windowMs);
    w.set(bucket, (w.get(bucket) ?? 0) + 1);
    perSku.set(c.sku, w);
  }
  const spanWindows = (checkouts.at(-1)!.atMs - checkouts[0]!.atMs) / windowMs;
  let spiky = 0;
  for (const w of perSku.values()) {
    const counts = [...w.values()];
    const mean = counts.reduce((a, b) => a + b, 0) / spanWindows;
    if (Math.max(...counts) > 5 * mean && Math.max(...counts) >= 10) spiky++;
  }
  t.ok(spiky >= 3, `${spiky} hot SKUs had a 10-minute window above 5x their mean`);
});

t.test('recorded stock drifts from the shelf most at stores and sellers, least at warehouses', async (t) => {
  const drift = { warehouse: [0, 0], store: [0, 0], seller: [0, 0] };
  for (const v of sim.systemView().values()) {
    const type = nodes.get(v.node)!.nodeType;
    drift[type][1]!++;
    if (v.onHand !== sim.physical(v.sku, v.node)) drift[type][0]!++;
  }
  const share = (x: number[]) => x[0]! / x[1]!;
  t.comment(`pairs whose records differ from the shelf: ${JSON.stringify(drift)}`);
  t.ok(share(drift.warehouse) < share(drift.store), 'warehouses drift less than stores');
  t.ok(share(drift.warehouse) < share(drift.seller), 'warehouses drift less than sellers');
  t.ok(share(drift.warehouse) > 0, 'even warehouses lose the odd unit');
});

t.test('truth records track the physical stock the simulator exposes', async (t) => {
  const { sim: s, records: recs } = collect({ seed: 7, maxEvents: 40_000, emitTruth: true });
  const last = new Map<string, SimTruthRecord>();
  let negative = 0;
  for (const r of recs) {
    if (r.type !== 'truth') continue;
    if (r.physical < 0) negative++;
    last.set(`${r.sku}|${r.node}`, r);
  }
  t.equal(negative, 0);
  t.ok(last.size > 1000);
  let bad = 0;
  for (const r of last.values()) if (s.physical(r.sku, r.node) !== r.physical) bad++;
  t.equal(bad, 0);
  t.equal(s.physical('no-such-sku', 'wh-01'), 0);
});
