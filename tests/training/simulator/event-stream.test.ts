import t from 'tap';
import { HEARTBEAT_SKU, parseEvent, toWire } from '../../../proto/v1/inventory-event.js';
import { SIM_MAX_DELAY_MS } from '../../../training/src/simulator/sim-config.js';
import { collect } from './sim-fixtures.js';

const EVENTS = 200_000;
const { sim, events } = collect({ seed: 3, maxEvents: EVENTS });
const typeOf = new Map(sim.world.nodes.map((n) => [n.nodeId, n.nodeType]));

/** Heartbeat event times per node, sorted. */
const heartbeats = new Map<string, number[]>();
for (const r of events) {
  if (r.event.kind !== 'heartbeat') continue;
  const list = heartbeats.get(r.event.node) ?? [];
  list.push(r.event.eventTimeMs);
  heartbeats.set(r.event.node, list);
}
for (const list of heartbeats.values()) list.sort((a, b) => a - b);

t.test('the run stops after the limit and delivers everything it emitted', async (t) => {
  const s = sim.stats();
  t.ok(events.length >= EVENTS && events.length < EVENTS + 1000, `${events.length} events`);
  t.equal(s.eventsEmitted, events.length);
  t.equal(s.eventsDelivered, events.length);
  t.equal(sim.pendingSize(), 0);
});

t.test('every event passes the wire contract unchanged', async (t) => {
  let bad = 0;
  let firstBad = '';
  for (const { event: e } of events) {
    const back = parseEvent(JSON.parse(JSON.stringify(toWire(e))));
    const same =
      back.eventId === e.eventId &&
      back.sku === e.sku &&
      back.node === e.node &&
      back.kind === e.kind &&
      back.quantity === e.quantity &&
      back.sequence === e.sequence &&
      back.eventTimeMs === e.eventTimeMs &&
      back.source === e.source;
    if (!same) {
      bad++;
      firstBad ||= JSON.stringify(e);
    }
  }
  t.equal(bad, 0, firstBad);
});

t.test('event ids are deterministic, unique and carry the seed', async (t) => {
  const ids = new Set(events.map((r) => r.event.eventId));
  t.equal(ids.size, events.length);
  t.ok(events.every((r) => /^e-3-\d+$/.test(r.event.eventId)));
});

t.test('sources follow the node type', async (t) => {
  let bad = 0;
  for (const { event: e } of events) {
    const want = typeOf.get(e.node) === 'seller' ? 'third-party' : 'first-party';
    if (e.source !== want) bad++;
  }
  t.equal(bad, 0);
});

t.test('sequences of every (sku,node) stream and every node heartbeat run 1..n without gaps', async (t) => {
  const seqs = new Map<string, number[]>();
  for (const { event: e } of events) {
    const key = `${e.sku}|${e.node}`;
    const list = seqs.get(key) ?? [];
    list.push(e.sequence);
    seqs.set(key, list);
  }
  let bad = 0;
  for (const [key, list] of seqs) {
    list.sort((a, b) => a - b);
    for (let i = 0; i < list.length; i++) {
      if (list[i] !== i + 1) {
        bad++;
        t.fail(`${key}: expected sequence ${i + 1}, found ${list[i]}`);
        break;
      }
    }
  }
  t.equal(bad, 0);
  t.ok(
    [...seqs.keys()].some((k) => k.startsWith(`${HEARTBEAT_SKU}|`)),
    'heartbeat streams are checked too',
  );
});

t.test('sequences follow event time within each stream', async (t) => {
  const byKey = new Map<string, { seq: number; t: number }[]>();
  for (const { event: e } of events) {
    const key = `${e.sku}|${e.node}`;
    const list = byKey.get(key) ?? [];
    list.push({ seq: e.sequence, t: e.eventTimeMs });
    byKey.set(key, list);
  }
  let bad = 0;
  for (const list of byKey.values()) {
    list.sort((a, b) => a.seq - b.seq);
    for (let i = 1; i < list.length; i++) if (list[i]!.t < list[i - 1]!.t) bad++;
  }
  t.equal(bad, 0);
});

t.test('delivery order differs from event-time order, also inside single streams', async (t) => {
  let maxT = 0;
  let behind = 0;
  const nextSeq = new Map<string, number>();
  let earlyInStream = 0;
  for (const { event: e } of events) {
    if (e.eventTimeMs < maxT) behind++;
    maxT = Math.max(maxT, e.eventTimeMs);
    const key = `${e.sku}|${e.node}`;
    const last = nextSeq.get(key) ?? 0;
    if (e.sequence < last) earlyInStream++;
    nextSeq.set(key, Math.max(last, e.sequence));
  }
  t.comment(
    `${behind} events arrive after a later-stamped one; ${earlyInStream} overtaken inside their own stream`,
  );
  t.ok(behind > events.length / 100, 'out-of-order delivery is common');
  t.ok(earlyInStream > 100, 'some streams see a later sequence before an earlier one');
});

t.test('delivery delay stays within SIM_MAX_DELAY_MS except for events held by a silent feed', async (t) => {
  const maxByType = { warehouse: 0, store: 0, seller: 0 };
  const minByType = { warehouse: Infinity, store: Infinity, seller: Infinity };
  let held = 0;
  let heldWhileHeartbeating = 0;
  for (const r of events) {
    const e = r.event;
    const delay = r.deliverAtMs - e.eventTimeMs;
    if (delay < 0) t.fail(`negative delay ${e.eventId}`);
    if (delay > SIM_MAX_DELAY_MS && !r.held) t.fail(`${e.eventId} took ${delay} ms without an outage`);
    if (r.held) {
      held++;
      // Held means the node's feed was down: no heartbeat from it between event time and delivery.
      const hb = heartbeats.get(e.node) ?? [];
      if (hb.some((h) => h >= e.eventTimeMs && h < r.deliverAtMs)) heldWhileHeartbeating++;
      continue;
    }
    const type = typeOf.get(e.node)!;
    maxByType[type] = Math.max(maxByType[type], delay);
    minByType[type] = Math.min(minByType[type], delay);
  }
  t.comment(
    `held by outages: ${held}; delay range ms ${JSON.stringify(minByType)} .. ${JSON.stringify(maxByType)}`,
  );
  t.ok(held > 0, 'feed outages happen');
  t.ok(
    events.some((r) => r.held && r.deliverAtMs - r.event.eventTimeMs > SIM_MAX_DELAY_MS),
    'some held events wait longer than the delay bound',
  );
  t.equal(heldWhileHeartbeating, 0);
  t.ok(maxByType.warehouse <= 2_000, 'warehouse feeds are fast');
  t.ok(maxByType.store <= 10_000, 'store feeds (POS included) take at most 10 s');
  t.ok(minByType.seller >= 5_000, 'seller feeds take at least 5 s');
  t.ok(
    maxByType.seller > 30_000 && maxByType.seller <= SIM_MAX_DELAY_MS,
    'seller feeds reach tens of seconds',
  );
});

t.test('heartbeats come about every 30 s per node, and stop during outages', async (t) => {
  let gaps = 0;
  let normal = 0;
  let silent = 0;
  for (const list of heartbeats.values()) {
    for (let i = 1; i < list.length; i++) {
      const gap = list[i]! - list[i - 1]!;
      gaps++;
      if (gap >= 27_000 && gap <= 33_000) normal++;
      else if (gap > 2 * 33_000) silent++;
    }
  }
  t.ok(normal / gaps > 0.95, `${normal}/${gaps} gaps are 30 +/- 3 s`);
  t.ok(silent > 0, 'some nodes fall silent');
  t.equal(heartbeats.size, sim.world.nodes.length, 'every node heartbeats');
  t.ok(
    events.every(
      (r) => r.event.kind !== 'heartbeat' || (r.event.quantity === 0 && r.event.sku === HEARTBEAT_SKU),
    ),
  );
});

t.test('every event kind occurs', async (t) => {
  // Returns come days later by default: shorten the delay so a short run sees them.
  const quick = collect({ seed: 3, maxEvents: 60_000, returnDelayH: [0.5, 1] }).events;
  const kinds = new Map<string, number>();
  for (const { event: e } of quick) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
  t.comment(JSON.stringify(Object.fromEntries(kinds)));
  for (const k of [
    'receipt',
    'sale',
    'reservation',
    'release',
    'cancellation',
    'return',
    'adjustment',
    'cycle-count',
    'heartbeat',
  ]) {
    t.ok((kinds.get(k) ?? 0) > 0, `${k} events occur`);
  }
  const adj = quick.filter((r) => r.event.kind === 'adjustment').map((r) => r.event.quantity);
  t.ok(adj.some((q) => q < 0) && adj.some((q) => q > 0), 'adjustments are signed');
});

t.test('a duration limit stops the world at that simulated time', async (t) => {
  const { events: short, sim: s } = collect({ seed: 3, durationMs: 600_000 });
  const end = s.config.startTimeMs + 600_000;
  t.ok(short.length > 0);
  t.ok(short.every((r) => r.event.eventTimeMs < end));
  t.equal(s.stats().eventsEmitted, short.length);
});
