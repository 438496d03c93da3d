import t from 'tap';
import { MemorySink } from '../../../sidecar/src/decision-log/decision-log-sinks.js';
import { testBundle } from '../../helpers/model-bundle.js';
import { checkout, worldSidecar } from '../../helpers/sidecar-world.js';

t.test(
  'with a model the answer carries its version, calibrated p and units_p10 from the ladder',
  async (t) => {
    const sc = worldSidecar();
    await sc.models.loadAndActivate(testBundle());
    const d = await sc.engine.check(checkout('IN-STOCK', 1));
    t.equal(d.modelVersion, 'gbdt-test-1');
    t.same(d.degradations, []);
    const item = d.items[0]!;
    t.equal(item.available, true, `allowed (p=${item.pFulfill})`);
    t.ok(item.pFulfill >= 0.9 && item.pFulfill < 1, 'p clears the checkout threshold');
    t.ok(
      Math.abs(item.oversellRisk - (1 - item.pFulfill)) < 1e-9,
      'oversell risk = 1 - p of the promised option',
    );
    t.ok(item.unitsP10 >= 1 && item.unitsP10 <= 150, `units_p10 ${item.unitsP10} within total stock`);
    for (let i = 1; i < item.options.length; i++)
      t.ok(item.options[i - 1]!.score >= item.options[i]!.score, 'ranked');
    const out = await sc.engine.check(checkout('OUT', 1, 'r-2'));
    t.equal(out.decision, 'deny');
    t.same(out.items[0]!.reasons, ['INSUFFICIENT_ATP'], 'hard rules come before the model');
  },
);

t.test('shadow evaluation logs model and baseline; `enforce: baseline` answers with the rules', async (t) => {
  const sink = new MemorySink();
  const sc = worldSidecar({ decisionLogSink: sink, enforce: 'baseline' });
  await sc.models.loadAndActivate(testBundle());
  // LOW: one unit at the store. The rule buffer (2 units) denies; the model decides on p.
  const d = await sc.engine.check(checkout('LOW', 1));
  t.same(d.items[0]!.reasons, ['SAFETY_BUFFER'], 'the baseline answered');
  await sc.decisionLog!.flush();
  const rec = sink.records()[0]!;
  t.equal(rec.enforced, 'baseline');
  t.equal(rec.baseline_decision, 'deny');
  t.ok(rec.model_decision === 'allow' || rec.model_decision === 'deny', 'the model side was computed');
  const cand = ((rec.items as Record<string, unknown>[])[0]!.candidates as Record<string, unknown>[])[0]!;
  t.type(cand.p, 'number');
  t.type(cand.threshold, 'number');
  t.equal(cand.p_rule, 0.5);
});

t.test('a SKU whose request rate passes the bundle hot rate is judged on the hot threshold', async (t) => {
  const sink = new MemorySink();
  const sc = worldSidecar({ decisionLogSink: sink });
  const m = await sc.models.loadAndActivate(testBundle());
  const hotRate = m.thresholds.hotSkuRatePerMin;
  const n = Math.ceil(hotRate) + 2;
  for (let i = 0; i < n; i++) await sc.engine.check(checkout('IN-STOCK', 1, `c-${i}`));
  await sc.decisionLog!.flush();
  const recs = sink.records();
  const item = (r: Record<string, unknown>) => (r.items as Record<string, unknown>[])[0]!;
  const thresholds = (r: Record<string, unknown>) =>
    (item(r).candidates as Record<string, unknown>[]).map((c) => c.threshold);
  t.equal(item(recs[0]!).hot, false, 'the first request sees a cold SKU');
  t.same(thresholds(recs[0]!), [
    m.thresholds.checkout.cold,
    m.thresholds.checkout.cold,
    m.thresholds.checkout.cold,
  ]);
  const last = recs[recs.length - 1]!;
  t.equal(item(last).hot, true, `hot after ${n} requests (hot rate ${hotRate}/min)`);
  t.same(thresholds(last), [m.thresholds.checkout.hot, m.thresholds.checkout.hot, m.thresholds.checkout.hot]);
});
