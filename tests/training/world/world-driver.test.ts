import t from 'tap';
import { FeatureState } from '../../../features/src/feature-state.js';
import { R } from '../../../features/src/record-layout.js';
import { type Clock, worldClock } from '../../../platform/src/clock.js';
import { outcomeToWire, parseOutcome } from '../../../proto/v1/order-outcome.js';
import { ERR } from '../../../training/src/errors.js';
import { NAIVE_DECISION_PREFIX } from '../../../training/src/simulator/demand-process.js';
import { MemoryEventSink, MemoryOutcomeSink } from '../../../training/src/world/memory-sinks.js';
import { NAIVE_ROUTER_DECISION_PREFIX } from '../../../training/src/world/naive-router.js';
import { WorldDriver } from '../../../training/src/world/world-driver.js';
import { resolveWorldOptions, worldTimeline } from '../../../training/src/world/world-options.js';
import type { DeliveredEvent, Router, RouterAnswer } from '../../../training/src/world/world-ports.js';
import { FAST_SPEED, naiveRouterFor, SMALL_RUN, SMALL_WORLD, virtualHarness } from './world-fixtures.js';

t.test('a world with the naive router is deterministic for a seed', async (t) => {
  const a = virtualHarness(SMALL_RUN);
  const b = virtualHarness(SMALL_RUN);
  const sa = await a.driver.run();
  const sb = await b.driver.run();
  t.comment(JSON.stringify({ ...sa, deliveredView: undefined }));
  t.ok(sa.checkouts > 400, `${sa.checkouts} live checkouts`);
  t.ok(sa.promised > 0 && sa.promiseRate !== null && sa.promiseRate < 1, `promise rate ${sa.promiseRate}`);
  t.ok(sa.drained, 'every checkout accounted for before the bound');
  t.notOk(sa.stopped);
  t.same(sb, sa, 'same summary');
  t.same(b.outcomes.outcomes, a.outcomes.outcomes, 'same outcomes, in the same order');
  t.same([...b.driver.decisions()], [...a.driver.decisions()], 'same decisions');
  t.same(JSON.parse(JSON.stringify(sa)), sa, 'the summary is plain JSON');
  const c = await virtualHarness({ ...SMALL_RUN, seed: 4 }).driver.run();
  t.not(c.deliveredView.digest, sa.deliveredView.digest, 'another seed, another world');
});

t.test('on the real world clock every promise gets exactly one valid outcome', async (t) => {
  const events = new MemoryEventSink();
  const outcomes = new MemoryOutcomeSink();
  const naive = naiveRouterFor(SMALL_RUN, events);
  let inFlight = 0;
  let maxInFlight = 0;
  // A router that answers a little later (1-3 wall ms): answers overlap and arrive out of order.
  const router: Router = {
    route: async (c) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const answer = await naive.route(c);
      await new Promise((resolve) => setTimeout(resolve, 1 + (c.qty % 3)));
      inFlight--;
      return answer;
    },
  };
  const { liveFromMs } = worldTimeline(resolveWorldOptions(SMALL_RUN));
  // The clock starts when the warm-up is over (the supervisor does the same with its world clock spec).
  let live: Clock | null = null;
  const clock: Clock = {
    now: () => live?.now() ?? liveFromMs,
    wallMs: (ms) => ms / FAST_SPEED,
    speed: FAST_SPEED,
  };
  const driver = new WorldDriver(
    { router, events, outcomes, clock, progress: { write: () => true } },
    SMALL_RUN,
  );
  await driver.warmUp();
  live = worldClock({ simEpochMs: liveFromMs, wallEpochMs: Date.now(), speed: FAST_SPEED });
  await driver.goLive();
  await driver.drain();
  const s = driver.summary();
  t.comment(
    `promise rate ${s.promiseRate}, oversell ${s.realizedOversellRate}, max in flight ${maxInFlight}`,
  );
  t.ok(s.drained, 'drained before the bound');
  t.ok(s.promised > 100, `${s.promised} promises`);
  t.equal(s.outcomes.missing, 0);
  t.equal(s.outcomes.duplicates, 0);
  t.ok(maxInFlight <= SMALL_RUN.maxInFlight!, `at most ${SMALL_RUN.maxInFlight} checkouts in flight`);

  const promised = new Map<string, string>();
  for (const d of driver.decisions())
    if (d.promisedNode !== null) promised.set(d.decisionId!, d.promisedNode);
  const live_ = outcomes.outcomes.filter((o) => o.decisionId.startsWith(NAIVE_ROUTER_DECISION_PREFIX));
  const warmup = outcomes.outcomes.filter((o) => o.decisionId.startsWith(NAIVE_DECISION_PREFIX));
  t.equal(
    live_.length + warmup.length,
    outcomes.outcomes.length,
    'every outcome is a live or warm-up promise',
  );
  t.equal(new Set(live_.map((o) => o.decisionId)).size, live_.length, 'one outcome per decision');
  t.same(new Set(live_.map((o) => o.decisionId)), new Set(promised.keys()), 'every promise has its outcome');
  t.equal(live_.filter((o) => promised.get(o.decisionId) !== o.node).length, 0, 'at the promised node');
  let invalid = 0;
  for (const o of outcomes.outcomes) {
    try {
      const back = parseOutcome(JSON.parse(JSON.stringify(outcomeToWire(o))));
      if (JSON.stringify(back) !== JSON.stringify(o)) invalid++;
    } catch {
      invalid++;
    }
  }
  t.equal(invalid, 0, 'every outcome validates as order.outcome.v1');
  t.equal(s.outcomesSent, outcomes.outcomes.length);
});

t.test('the delivered view is every event sent, applied once', async (t) => {
  const sent: DeliveredEvent[] = [];
  const inner = new MemoryEventSink();
  const h = virtualHarness(SMALL_RUN, undefined, {
    events: {
      send: async (batch) => {
        sent.push(...batch);
        await inner.send(batch);
      },
    },
  });
  const s = await h.driver.run();
  const fed = new FeatureState();
  for (const d of sent) fed.apply(d.event);
  t.equal(h.driver.deliveredView.digest(), fed.digest(), 'equals a FeatureState fed the same events');
  t.equal(s.deliveredView.digest, fed.digest());
  t.equal(s.events.warmup + s.events.live, sent.length, 'events counted as sent');
  t.equal(new Set(sent.map((d) => d.event.eventId)).size, sent.length, 'no event sent twice');
  let delivery = 0;
  t.equal(
    sent.filter((d) => {
      const late = d.deliverAtMs < delivery;
      delivery = d.deliverAtMs;
      return late;
    }).length,
    0,
    'sent in delivery order',
  );
  // Where every emitted event has arrived, the view holds exactly the world's records.
  let complete = 0;
  let differ = 0;
  for (const e of h.driver.sim.systemView().values()) {
    const rec = h.driver.deliveredView.get(e.sku, e.node);
    if (rec === undefined || rec[R.nextSeq] !== e.lastSequence + 1) continue;
    complete++;
    if (rec[R.onHand] !== e.onHand || rec[R.reserved] !== e.reserved) differ++;
  }
  t.ok(complete > 0.9 * h.driver.sim.systemView().size, `${complete} complete pairs`);
  t.equal(differ, 0, 'on hand and reserved equal the emitted records');
});

t.test('a router that always denies promises nothing and gets no outcome', async (t) => {
  const deny: Router = {
    route: async () => ({ decision: 'deny', latencyMs: 1, degradations: ['stream-lag'] }),
  };
  const h = virtualHarness(SMALL_RUN, deny);
  const s = await h.driver.run();
  t.ok(s.checkouts > 400);
  t.equal(s.promiseRate, 0);
  t.equal(s.promised, 0);
  t.equal(s.answers.deny, s.checkouts);
  t.equal(s.realizedOversellRate, null, 'no promise, no oversell rate');
  t.same(s.outcomes, {
    fulfilled: 0,
    fulfilledOnTime: 0,
    shortPicked: 0,
    cancelledBuyer: 0,
    cancelledSeller: 0,
    missing: 0,
    duplicates: 0,
  });
  t.equal(
    h.outcomes.outcomes.filter((o) => !o.decisionId.startsWith(NAIVE_DECISION_PREFIX)).length,
    0,
    'only warm-up promises have outcomes',
  );
  t.ok(s.falseDenials > 0 && s.falseDenialRate !== null, `${s.falseDenials} false denials`);
  t.same(s.degradations.byReason, { 'stream-lag': s.checkouts });
  t.same(s.degradations.shareByReason, { 'stream-lag': 1 });
  t.equal(s.latencyMs.p99, 1);
});

t.test('a router that promises regardless of stock oversells, and the world says so', async (t) => {
  // A longer tail of SKUs and a longer history: shelves that run empty or drift from their records.
  const run = { ...SMALL_RUN, sim: { ...SMALL_WORLD, skuCount: 1_000 }, warmupHours: 2 };
  const events = new MemoryEventSink();
  const naive = naiveRouterFor(run, events);
  // Any qty fits when it is asked for -1000 units: the nearest node that ever reported the SKU is promised.
  const reckless: Router = { route: (c) => naive.route({ ...c, qty: -1_000 }) };
  const s = await virtualHarness(run, reckless, { events }).driver.run();
  t.comment(
    `promise rate ${s.promiseRate}, oversell ${s.realizedOversellRate}, beyond stock ${s.promisedBeyondStock}`,
  );
  t.ok(s.drained);
  t.ok(s.outcomes.shortPicked > 0 && s.realizedOversellRate !== null && s.realizedOversellRate > 0);
  t.equal(s.realizedOversellRate, s.outcomes.shortPicked / s.promised);
  t.ok(s.promisedBeyondStock >= s.outcomes.shortPicked / 2, 'short picks come from promises beyond stock');
  t.ok(s.fulfilmentReliability !== null && s.fulfilmentReliability < 1);
  t.equal(s.falseDenials, 0, 'it never denies a checkout it could serve');
});

t.test('a router that fails is counted and never promises', async (t) => {
  let n = 0;
  const failing: Router = {
    route: async () => {
      if (++n % 2 === 0) throw new Error('connection refused');
      return { decision: 'error', reason: 'ATP_ERR_UNAVAILABLE', latencyMs: 25 };
    },
  };
  const s = await virtualHarness(SMALL_RUN, failing).driver.run();
  t.ok(s.checkouts > 400);
  t.equal(s.answers.error, s.checkouts, 'answered errors and rejections alike');
  t.equal(s.promised, 0);
  t.equal(s.promiseRate, 0);
  t.ok(s.drained);
});

t.test('a promise at a node that cannot serve the buyer is counted invalid, not kept', async (t) => {
  const wrong: Router = {
    route: async () => ({ decision: 'allow', decisionId: 'x-1', node: 'nowhere', latencyMs: 0 }),
  };
  const s = await virtualHarness(SMALL_RUN, wrong).driver.run();
  t.equal(s.answers.invalid, s.checkouts);
  t.equal(s.promised, 0);
  t.ok(s.drained);
});

t.test('a router that never answers: the drain is bounded and stop() ends a run', async (t) => {
  const silent: Router = { route: () => new Promise<RouterAnswer>(() => undefined) };
  const quick = { ...SMALL_RUN, liveMinutes: 5, answerTimeoutMs: 60_000, drainBoundMs: 180_000 };
  const bounded = await virtualHarness(quick, silent).driver.run();
  t.notOk(bounded.drained);
  t.equal(bounded.answers.unanswered, SMALL_RUN.maxInFlight, 'only the first few were ever sent');
  t.equal(bounded.answers.timeout + bounded.answers.unanswered, bounded.checkouts, 'the rest timed out');
  t.equal(bounded.promised, 0);

  const h = virtualHarness(SMALL_RUN, silent);
  const running = h.driver.run();
  await h.driver.warmUp().then(
    () => t.fail('a phase runs once'),
    (err: unknown) => t.equal((err as { code?: string }).code, ERR.WORLD_PHASE.code),
  );
  t.equal(await h.driver.stop(), 'done');
  const s = await running;
  t.ok(s.stopped);
  t.equal(await h.driver.stop(), 'done', 'stop is idempotent');
});

t.test('options are validated at the edge, naming the field', async (t) => {
  const ports = { events: new MemoryEventSink(), outcomes: new MemoryOutcomeSink() };
  for (const [input, field] of [
    [{ liveMinutes: -1 }, 'liveMinutes'],
    [{ maxInFlight: 0 }, 'maxInFlight'],
    [{ answerTimeoutMs: 10 }, 'answerTimeoutMs'],
  ] as const) {
    t.throws(
      () =>
        new WorldDriver(
          {
            router: { route: async () => ({ decision: 'deny', latencyMs: 0 }) },
            events: ports.events,
            outcomes: ports.outcomes,
            clock: worldClock({ simEpochMs: 0, wallEpochMs: 0, speed: 1 }),
          },
          { ...SMALL_RUN, ...input },
        ),
      { code: ERR.WORLD_CONFIG.code, field },
    );
  }
});

t.test('progress lines are few and end with a final one', async (t) => {
  const h = virtualHarness(SMALL_RUN);
  await h.driver.run();
  t.ok(h.progress.length >= 2 && h.progress.length <= 10, `${h.progress.length} lines`);
  // The platform progress bar: the drain's bar ends the run, with the world's counts in its note.
  t.match(h.progress.at(-1), /^world drain +\[[#-]+\] +[\d.]+% .* sim s .*\| events [\d,]+ \| checkouts /);
});
