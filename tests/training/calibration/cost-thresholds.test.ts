import t from 'tap';
import {
  costOptimalThreshold,
  deriveThresholds,
  expectedCost,
  MIN_STALE_MARGIN,
} from '../../../training/src/calibration/cost-thresholds.js';
import { Prng } from '../../../training/src/simulator/prng.js';

// Five rows, hand-computed. Promising a row that fails costs R; refusing one that ships costs 1.
const P = [0.95, 0.9, 0.8, 0.6, 0.3];
const Y = [1, 1, 0, 1, 0];

t.test('at cost ratio 2 the optimum promises the two safest rows (cost 1 of 5)', async (t) => {
  // none: 3 lost sales; >=.95: 2; >=.9: 1; >=.8: 1 + 2; >=.6: 2; >=.3: 4.
  const o = costOptimalThreshold(P, Y, 5, 2);
  t.equal(o.threshold, 0.9);
  t.equal(o.cost, 0.2);
  t.equal(o.promiseRate, 0.4);
  t.equal(expectedCost(P, Y, 5, 0.9, 2), 0.2);
  t.equal(expectedCost(P, Y, 5, 0.8, 2), 0.6);
});

t.test(
  'at cost ratio 0.5 an oversell is cheap and the optimum promises down to 0.6 (cost 0.5 of 5)',
  async (t) => {
    const o = costOptimalThreshold(P, Y, 5, 0.5);
    t.equal(o.threshold, 0.6);
    t.equal(o.cost, 0.1);
  },
);

t.test('when every promise loses, nothing is promised', async (t) => {
  const o = costOptimalThreshold([0.9, 0.8], [0, 0], 2, 10);
  t.ok(o.threshold > 0.9);
  t.equal(o.promiseRate, 0);
  t.equal(o.cost, 0);
});

t.test('rows with equal p are promised together', async (t) => {
  // Two rows at 0.7: one ships, one fails. At ratio 0.5 promising both (cost 0.5) beats neither (cost 1).
  const o = costOptimalThreshold([0.7, 0.7], [1, 0], 2, 0.5);
  t.equal(o.threshold, 0.7);
  t.equal(o.promiseRate, 1);
});

t.test(
  'thresholds per channel and hotness come from their own rows; browse is looser; stale adds a margin',
  async (t) => {
    const rows = 200_000;
    const rng = new Prng(9);
    const p = new Float64Array(rows);
    const y = new Uint8Array(rows);
    const hot = new Uint8Array(rows);
    const stale = new Uint8Array(rows);
    for (let i = 0; i < rows; i++) {
      // Perfectly calibrated rows: the label is drawn with probability p.
      const q = Math.round(rng.float() * 200) / 200;
      p[i] = q;
      y[i] = rng.float() < q ? 1 : 0;
      hot[i] = i % 4 === 0 ? 1 : 0;
      stale[i] = i < 5_000 ? 1 : 0;
    }
    const d = deriveThresholds(p, y, rows, hot, stale, {
      costRatio: 10,
      browseCostRatio: 2,
      hotSkuRatePerMin: 20,
    });
    const th = d.thresholds;
    // Calibrated: the break-even p is R / (1 + R): 10/11 at checkout, 2/3 for browse.
    t.ok(Math.abs(th.checkout.cold - 10 / 11) < 0.03, `checkout cold ${th.checkout.cold}`);
    t.ok(Math.abs(th.checkout.hot - 10 / 11) < 0.03, `checkout hot ${th.checkout.hot}`);
    t.ok(Math.abs(th.browse.cold - 2 / 3) < 0.03, `browse cold ${th.browse.cold}`);
    t.ok(th.browse.hot < th.checkout.hot);
    t.ok(th.checkout.hot >= th.checkout.cold, 'hot is never looser than cold');
    t.ok(th.browse.hot >= th.browse.cold);
    t.ok(th.staleMargin >= MIN_STALE_MARGIN);
    t.equal(th.costRatio, 10);
    t.equal(th.hotSkuRatePerMin, 20);
    t.equal(d.detail['checkout.hot']!.rows, 50_000);
  },
);
