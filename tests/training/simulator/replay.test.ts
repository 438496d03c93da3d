/**
 * Acceptance criterion of the simulator issue: the stream replays to the same
 * feature state whatever the delivery order within the simulator's delay
 * bound, and whatever duplicates, and that state is the simulator's own
 * system view.
 */
import t from 'tap';
import { FeatureState } from '../../../features/src/feature-state.js';
import { R } from '../../../features/src/record-layout.js';
import type { InventoryEvent } from '../../../proto/v1/inventory-event.js';
import { Prng } from '../../../training/src/simulator/prng.js';
import { SIM_MAX_DELAY_MS } from '../../../training/src/simulator/sim-config.js';
import type { SimEventRecord } from '../../../training/src/simulator/sim-record.js';
import { collect, inBlackout } from './sim-fixtures.js';

const EVENTS = 200_000;
const SHUFFLE_STREAM = 901;
const { sim, records, events } = collect({ seed: 5, maxEvents: EVENTS });

/**
 * A seeded local shuffle. Every event gets a sort key = its delivery time +
 * a jitter drawn uniformly from [0, SIM_MAX_DELAY_MS] ms; the stream is then
 * sorted by (key, original position). So each event moves by at most the
 * delay bound in delivery time relative to any other. One exception, on
 * purpose: a backlog released at the end of a node's outage (held events,
 * same node and delivery time) draws one jitter for the whole batch and keeps
 * its internal order, as a replayed backlog does on a real feed.
 */
function shuffledWithinBound(recs: SimEventRecord[], seed: number): InventoryEvent[] {
  const rng = new Prng(seed, SHUFFLE_STREAM);
  const batchJitter = new Map<string, number>();
  const keyed = recs.map((r, idx) => {
    let jitter: number;
    if (r.held) {
      const batch = `${r.event.node}@${r.deliverAtMs}`;
      jitter = batchJitter.get(batch) ?? rng.int(0, SIM_MAX_DELAY_MS);
      batchJitter.set(batch, jitter);
    } else {
      jitter = rng.int(0, SIM_MAX_DELAY_MS);
    }
    return { key: r.deliverAtMs + jitter, idx, e: r.event };
  });
  keyed.sort((a, b) => a.key - b.key || a.idx - b.idx);
  return keyed.map((k) => k.e);
}

/** Every event twice: once where it was delivered, once again up to the delay bound later. */
function duplicated(recs: SimEventRecord[], seed: number): InventoryEvent[] {
  const rng = new Prng(seed, SHUFFLE_STREAM + 1);
  const keyed: { key: number; idx: number; e: InventoryEvent }[] = [];
  recs.forEach((r, idx) => {
    keyed.push({ key: r.deliverAtMs, idx, e: r.event });
    keyed.push({ key: r.deliverAtMs + rng.int(0, SIM_MAX_DELAY_MS), idx, e: r.event });
  });
  keyed.sort((a, b) => a.key - b.key || a.idx - b.idx);
  return keyed.map((k) => k.e);
}

function replay(stream: Iterable<InventoryEvent>): { state: FeatureState; buffered: number } {
  const state = new FeatureState();
  let buffered = 0;
  for (const e of stream) if (state.apply(e) === 'buffered') buffered++;
  return { state, buffered };
}

const inOrder = replay(events.map((r) => r.event));

t.test(
  'replaying in delivery order, shuffled within the delay bound, or duplicated gives one digest',
  async (t) => {
    const shuffled = replay(shuffledWithinBound(events, 77));
    const twice = replay(duplicated(events, 78));
    t.comment(
      `buffered (out-of-order within a stream): delivery order ${inOrder.buffered}, shuffled ${shuffled.buffered}`,
    );
    t.ok(shuffled.buffered > inOrder.buffered, 'the shuffle really reorders streams');
    t.equal(inOrder.state.stats.gapsSkipped, 0, 'no gap skipped in delivery order');
    t.equal(shuffled.state.stats.gapsSkipped, 0, 'no gap skipped when shuffled');
    t.equal(twice.state.stats.gapsSkipped, 0, 'no gap skipped with duplicates');
    t.equal(twice.state.stats.duplicates, events.filter((r) => r.event.kind !== 'heartbeat').length);
    const digest = inOrder.state.digest();
    t.equal(shuffled.state.digest(), digest);
    t.equal(twice.state.digest(), digest);
  },
);

t.test('the replayed feature state equals the simulator system view on every pair', async (t) => {
  const view = sim.systemView();
  t.equal(inOrder.state.size, view.size, 'same pairs');
  let bad = 0;
  for (const [key, rec] of inOrder.state.entries()) {
    const v = view.get(key);
    if (
      v === undefined ||
      rec[R.onHand] !== v.onHand ||
      rec[R.reserved] !== v.reserved ||
      rec[R.nextSeq]! - 1 !== v.lastSequence
    ) {
      if (bad++ < 5)
        t.fail(
          `${key}: state ${rec[R.onHand]}/${rec[R.reserved]}/${rec[R.nextSeq]} view ${JSON.stringify(v)}`,
        );
    }
    if (inOrder.state.pendingCount(v?.sku ?? '', v?.node ?? '') !== 0) bad++;
  }
  t.equal(bad, 0);
  const reservedNow = [...view.values()].reduce((a, v) => a + v.reserved, 0);
  t.ok(reservedNow > 0, 'open reservations remain when the world stops');
  for (const v of view.values()) if (v.reserved < 0) t.fail(`${v.sku}|${v.node} reserved ${v.reserved}`);
});

t.test(
  'every promise is what naive ATP on the consumer state at decision time would have made',
  async (t) => {
    // Replays the stream record by record; at each checkout, recomputes the naive policy from FeatureState.
    const state = new FeatureState();
    const nodes = new Map(sim.world.nodes.map((n) => [n.nodeId, n]));
    const ordersToday = new Map<string, number>();
    let checked = 0;
    let mismatches = 0;
    let promisedAtZeroMargin = 0;
    for (const r of records) {
      if (r.type === 'event') {
        state.apply(r.event);
        continue;
      }
      if (r.type !== 'checkout') continue;
      const day = Math.floor(r.atMs / 86_400_000);
      let expected: string | null = null;
      for (const id of r.candidates) {
        const node = nodes.get(id)!;
        const key = `${day}|${id}`;
        if (inBlackout(node.blackoutHoursUtc, r.atMs)) continue;
        if (node.dailyOrderCap > 0 && (ordersToday.get(key) ?? 0) >= node.dailyOrderCap) continue;
        const rec = state.get(r.sku, id);
        const atp = rec === undefined ? 0 : rec[R.onHand]! - rec[R.reserved]!;
        if (atp >= r.qty) {
          expected = id;
          if (atp === r.qty) promisedAtZeroMargin++;
          break;
        }
      }
      checked++;
      if (expected !== r.promisedNode && mismatches++ < 5) {
        t.fail(`${r.checkoutId}: promised ${r.promisedNode}, naive ATP on FeatureState says ${expected}`);
      }
      if (r.promisedNode !== null) {
        const key = `${day}|${r.promisedNode}`;
        ordersToday.set(key, (ordersToday.get(key) ?? 0) + 1);
      }
    }
    t.comment(`${checked} checkouts checked, ${promisedAtZeroMargin} promised the last units`);
    t.equal(mismatches, 0);
    t.ok(checked > 10_000);
  },
);
