import { createHash } from 'node:crypto';
import t from 'tap';
import type { AtpError } from '../../../platform/src/errors.js';
import { encodeEvent } from '../../../proto/v1/inventory-event.js';
import { outcomeToWire, parseOutcome } from '../../../proto/v1/order-outcome.js';
import { ERR } from '../../../training/src/errors.js';
import { NAIVE_DECISION_PREFIX } from '../../../training/src/simulator/demand-process.js';
import type { SimConfigInput } from '../../../training/src/simulator/sim-config.js';
import type {
  SimCheckoutRecord,
  SimOrderOutcomeRecord,
  SimOutcomeRecord,
  SimRecord,
} from '../../../training/src/simulator/sim-record.js';
import { Simulator } from '../../../training/src/simulator/simulator.js';
import { toOrderOutcome } from '../../../training/src/simulator/to-order-outcome.js';

const MS_PER_MIN = 60_000;
const MS_PER_H = 3_600_000;
const SMALL: SimConfigInput = {
  skuCount: 200,
  nodes: { warehouse: { count: 2 }, store: { count: 5 }, seller: { count: 4 } },
};
const START = Date.UTC(2026, 0, 5);
/** The answer's delay after the checkout (simulated ms): a data plane that takes two seconds. */
const ANSWER_DELAY_MS = 2_000;

function encodeRecord(r: SimRecord): string {
  return r.type === 'event' ? `${r.deliverAtMs} ${encodeEvent(r.event)}` : JSON.stringify(r);
}

function hashOf(records: Iterable<SimRecord>): string {
  const h = createHash('sha256');
  for (const r of records) h.update(`${encodeRecord(r)}\n`);
  return h.digest('hex');
}

type Answer = { node: string; decisionId: string } | null;

/**
 * Drives an external world in one-minute steps: each checkout gets `answer`
 * ANSWER_DELAY_MS after it ('none' = never answered). Demand stops at
 * checkoutsForMs; the world then runs for drainMs more.
 */
function driveExternal(
  input: SimConfigInput,
  answer: (c: SimCheckoutRecord) => Answer | 'none',
  checkoutsForMs: number,
  drainMs: number,
): { sim: Simulator; records: SimRecord[]; answered: Map<string, Answer> } {
  const sim = new Simulator({ ...SMALL, ...input, routing: 'external' });
  const records: SimRecord[] = [];
  const answered = new Map<string, Answer>();
  const due: { c: SimCheckoutRecord; atMs: number }[] = [];
  const stopAt = START + checkoutsForMs;
  let stopped = false;
  // The world moves to the next answer's time, never past it, in steps no longer than the answer
  // delay: a checkout yielded in a step has its answer due after that step.
  for (let now = START; now < stopAt + drainMs; ) {
    now = Math.min(due[0]?.atMs ?? Number.POSITIVE_INFINITY, now + ANSWER_DELAY_MS);
    for (const r of sim.advance(now)) {
      records.push(r);
      if (r.type === 'checkout') due.push({ c: r, atMs: r.atMs + ANSWER_DELAY_MS });
    }
    while (due.length > 0 && due[0]!.atMs <= now) {
      const { c, atMs } = due.shift()!;
      const a = answer(c);
      if (a !== 'none' && sim.resolveCheckout(c.checkoutId, a, atMs)) answered.set(c.checkoutId, a);
    }
    if (!stopped && now >= stopAt) {
      sim.stopCheckouts();
      stopped = true;
    }
  }
  return { sim, records, answered };
}

/** Promise every other checkout at its first candidate, deny the rest. */
function alternate(c: SimCheckoutRecord): Answer {
  const n = Number(c.checkoutId.split('-').at(-1));
  if (n % 2 === 1 && c.candidates.length > 0) return { node: c.candidates[0]!, decisionId: `d-${n}` };
  return null;
}

t.test('advance() in steps yields the same stream as run()', async (t) => {
  const input: SimConfigInput = { ...SMALL, seed: 4, durationMs: 3 * MS_PER_H };
  const whole = hashOf(new Simulator(input).run());
  const sim = new Simulator(input);
  const stepped: SimRecord[] = [];
  for (let at = START; at <= START + 4 * MS_PER_H; at += 37_000) stepped.push(...sim.advance(at));
  t.ok(stepped.length > 10_000, `${stepped.length} records`);
  t.equal(hashOf(stepped), whole);
  t.throws(() => sim.run().next(), { code: ERR.SIM_ALREADY_RUN.code });
});

t.test('before externalFromMs an external world is the internal one, plus order outcomes', async (t) => {
  const input: SimConfigInput = { ...SMALL, seed: 5, durationMs: 3 * MS_PER_H };
  const internal = hashOf(new Simulator(input).run());
  const sim = new Simulator({ ...input, routing: 'external', externalFromMs: START + 10 * MS_PER_H });
  const kept: SimRecord[] = [];
  const orders: SimOrderOutcomeRecord[] = [];
  for (const r of sim.run()) {
    if (r.type === 'order-outcome') {
      orders.push(r);
      continue;
    }
    if (r.type === 'outcome' && r.decisionId !== undefined) {
      if (!r.decisionId.startsWith(NAIVE_DECISION_PREFIX)) t.fail(`decision id ${r.decisionId}`);
      const { decisionId: _, ...rest } = r;
      kept.push(rest);
    } else kept.push(r);
  }
  t.equal(hashOf(kept), internal, 'same draws, same events, same decisions');
  t.ok(orders.length > 100, `${orders.length} naive order outcomes`);
  let invalid = 0;
  for (const o of orders) {
    try {
      parseOutcome(outcomeToWire(toOrderOutcome(o)));
    } catch {
      invalid++;
    }
  }
  t.equal(invalid, 0, 'every order outcome is a valid order.outcome.v1');
});

t.test('external checkouts wait for their answer, which takes effect at its time', async (t) => {
  const { sim, records, answered } = driveExternal({ seed: 6 }, alternate, 2 * MS_PER_H, 4 * MS_PER_H);
  const checkouts = records.filter((r): r is SimCheckoutRecord => r.type === 'checkout');
  const orders = records.filter((r): r is SimOrderOutcomeRecord => r.type === 'order-outcome');
  const truths = records.filter((r): r is SimOutcomeRecord => r.type === 'outcome');
  const nodes = new Map(sim.world.nodes.map((n) => [n.nodeId, n]));
  t.ok(checkouts.length > 1_000, `${checkouts.length} checkouts`);
  t.ok(
    checkouts.every((c) => c.promisedNode === null && sim.isExternal(c.atMs)),
    'yielded undecided',
  );
  const promises = [...answered].filter(([, a]) => a !== null);
  t.equal(sim.stats().promised, promises.length, 'every promise answered counts, no other');
  t.equal(answered.size, checkouts.length, 'every checkout was answered in time');

  // A promise reserves at its node at the answer's time.
  const reservations = new Set<string>();
  for (const r of records) {
    if (r.type === 'event' && r.event.kind === 'reservation') {
      reservations.add(`${r.event.sku}|${r.event.node}|${r.event.eventTimeMs}`);
    }
  }
  const byId = new Map(checkouts.map((c) => [c.checkoutId, c]));
  let missingReservation = 0;
  for (const [id, a] of promises) {
    const c = byId.get(id)!;
    if (!reservations.has(`${c.sku}|${a!.node}|${c.atMs + ANSWER_DELAY_MS}`)) missingReservation++;
  }
  t.equal(missingReservation, 0, 'each promise reserved at its node when answered');

  // Exactly one order outcome per promise, valid, due handling hours after the answer.
  const seen = new Set<string>();
  let bad = 0;
  for (const o of orders) {
    const c = byId.get(o.checkoutId)!;
    const a = answered.get(o.checkoutId);
    if (a === null || a === undefined || seen.has(o.checkoutId)) bad++;
    seen.add(o.checkoutId);
    const promisedAt = c.atMs + ANSWER_DELAY_MS;
    const due = promisedAt + Math.round(nodes.get(o.node)!.handlingHours * MS_PER_H);
    if (o.decisionId !== a?.decisionId || o.node !== a.node || o.promisedAtMs !== promisedAt) bad++;
    if (o.dueAtMs !== due) bad++;
    // Picks (full or short) happen when due; cancellations before.
    if (o.status.startsWith('cancelled') ? o.atMs < promisedAt || o.atMs >= due : o.atMs !== due) bad++;
    const wire = parseOutcome(outcomeToWire(toOrderOutcome(o)));
    if (wire.outcomeId !== `${a?.decisionId}:${c.sku}` || wire.onTime !== (o.status === 'fulfilled')) bad++;
  }
  t.equal(bad, 0, 'order outcomes agree with their promises');
  t.equal(seen.size, promises.length, 'every promise has its order outcome');
  t.ok(orders.some((o) => o.status === 'fulfilled'));

  // Every checkout gets its ground truth; denials only that.
  bad = 0;
  const truthIds = new Set(truths.map((r) => r.checkoutId));
  t.equal(truthIds.size, checkouts.length, 'ground truth for every checkout');
  for (const r of truths) {
    const a = answered.get(r.checkoutId);
    if (r.promisedNode !== (a?.node ?? null) || r.decisionId !== a?.decisionId) bad++;
    if (r.feasible.length !== byId.get(r.checkoutId)!.candidates.length) bad++;
  }
  t.equal(bad, 0, 'ground truth names the promise and every candidate');
  t.ok(
    truths.some((r) => r.promisedNode === null && r.feasible.some((f) => f)),
    'some denials were false',
  );
});

t.test('the same answers at the same times give the same stream', async (t) => {
  const a = driveExternal({ seed: 8 }, alternate, MS_PER_H, MS_PER_H);
  const b = driveExternal({ seed: 8 }, alternate, MS_PER_H, MS_PER_H);
  t.equal(hashOf(a.records), hashOf(b.records));
  const c = driveExternal({ seed: 8 }, () => null, MS_PER_H, MS_PER_H);
  t.not(hashOf(c.records), hashOf(a.records), 'other answers, another world');
});

t.test('an unanswered checkout times out as not promised, and holds nothing after', async (t) => {
  const timeoutMs = 5 * MS_PER_MIN;
  const sim = new Simulator({ ...SMALL, seed: 9, routing: 'external', resolveTimeoutMs: timeoutMs });
  let checkouts = 0;
  let truths = 0;
  let first: SimCheckoutRecord | undefined;
  const pendingAt: number[] = [];
  for (let h = 1; h <= 4; h++) {
    for (const r of sim.advance(START + h * MS_PER_H)) {
      if (r.type === 'checkout') {
        checkouts++;
        first ??= r;
      }
      if (r.type === 'outcome') {
        truths++;
        if (r.promisedNode !== null) t.fail('a timed-out checkout was promised');
      }
      if (r.type === 'order-outcome') t.fail('no promise, no order outcome');
    }
    pendingAt.push(sim.pendingSize());
  }
  t.ok(checkouts > 1_000, `${checkouts} checkouts`);
  t.ok(sim.stats().unanswered >= checkouts - 1_000, `${sim.stats().unanswered} timed out`);
  t.equal(sim.stats().promised, 0);
  t.ok(truths > checkouts / 2, 'timed-out checkouts still get their ground truth');
  t.ok(pendingAt[3]! <= 1.5 * pendingAt[1]!, `pending stays flat: ${pendingAt.join(', ')}`);
  t.equal(
    sim.resolveCheckout(
      first!.checkoutId,
      { node: first!.candidates[0] ?? 'x', decisionId: 'late' },
      first!.atMs + 1,
    ),
    false,
    'a late answer is ignored',
  );
});

t.test('a promise must name a candidate; unknown or repeated answers are ignored', async (t) => {
  const sim = new Simulator({ ...SMALL, seed: 10, routing: 'external' });
  let c: SimCheckoutRecord | undefined;
  for (let at = START; c === undefined; at += MS_PER_MIN) {
    c = sim.advance(at).find((r): r is SimCheckoutRecord => r.type === 'checkout' && r.candidates.length > 0);
  }
  const err = t.throws(() =>
    sim.resolveCheckout(c!.checkoutId, { node: 'no-such-node', decisionId: 'd-1' }, c!.atMs),
  ) as AtpError;
  t.equal(err.code, ERR.SIM_RESOLVE.code);
  t.equal(err.field, 'node');
  t.throws(() => sim.resolveCheckout(c!.checkoutId, null, Number.NaN), { code: ERR.SIM_RESOLVE.code });
  t.equal(sim.resolveCheckout('c-10-999999', null, c!.atMs), false, 'unknown checkout');
  t.equal(sim.resolveCheckout(c!.checkoutId, { node: c!.candidates[0]!, decisionId: 'd-1' }, c!.atMs), true);
  t.equal(sim.resolveCheckout(c!.checkoutId, null, c!.atMs), false, 'answered once only');
});

t.test('stopCheckouts ends demand, not the world', async (t) => {
  const { records, answered } = driveExternal(
    { seed: 11 },
    (c) => (c.candidates.length > 0 ? { node: c.candidates[0]!, decisionId: `d-${c.checkoutId}` } : null),
    MS_PER_H,
    5 * MS_PER_H,
  );
  const stopAt = START + MS_PER_H;
  t.notOk(
    records.some((r) => r.type === 'checkout' && r.atMs > stopAt),
    'no checkout after the stop',
  );
  t.ok(
    records.some((r) => r.type === 'event' && r.deliverAtMs > stopAt + MS_PER_H),
    'events go on',
  );
  const promised = [...answered.values()].filter((a) => a !== null).length;
  const outcomes = records.filter((r) => r.type === 'order-outcome').length;
  t.ok(promised > 100);
  t.equal(outcomes, promised, 'every promise made before the stop reaches its outcome');
});
