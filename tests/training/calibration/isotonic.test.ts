import t from 'tap';
import { calibrate } from '../../../proto/v1/model-manifest.js';
import { CALIBRATION_EPS, fitIsotonic } from '../../../training/src/calibration/isotonic.js';
import { ece } from '../../../training/src/evaluate/metrics.js';
import { Prng } from '../../../training/src/simulator/prng.js';

/** Rows whose true probability is q^3 while the model says q: over-confident everywhere but the ends. */
function miscalibrated(rows: number, seed: number): { p: Float64Array; y: Uint8Array } {
  const rng = new Prng(seed);
  const p = new Float64Array(rows);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const q = rng.float();
    p[i] = q;
    y[i] = rng.float() < q ** 3 ? 1 : 0;
  }
  return { p, y };
}

t.test('the isotonic fit is monotone: x ascending, y non-decreasing, y inside (0, 1)', async (t) => {
  const { p, y } = miscalibrated(20_000, 1);
  const c = fitIsotonic(p, y, p.length);
  t.ok(c.x.length >= 2);
  t.equal(c.x.length, c.y.length);
  t.ok(
    c.x.every((v, i) => i === 0 || v >= c.x[i - 1]!),
    'x ascending',
  );
  t.ok(
    c.y.every((v, i) => i === 0 || v >= c.y[i - 1]!),
    'y non-decreasing',
  );
  t.ok(c.y.every((v) => v >= CALIBRATION_EPS && v <= 1 - CALIBRATION_EPS));
  // calibrate() of the manifest is monotone in p too.
  let last = -1;
  let drops = 0;
  for (let q = 0; q <= 1; q += 0.001) {
    const v = calibrate(c, q);
    if (v < last) drops++;
    last = v;
  }
  t.equal(drops, 0, 'calibrate() never decreases as p grows');
});

t.test('isotonic calibration reduces ECE of a miscalibrated model on fresh rows', async (t) => {
  const fit = miscalibrated(20_000, 2);
  const test = miscalibrated(20_000, 3);
  const c = fitIsotonic(fit.p, fit.y, fit.p.length);
  const before = ece(test.p, test.y, test.p.length);
  const after = ece(
    test.p.map((q) => calibrate(c, q)),
    test.y,
    test.p.length,
  );
  t.ok(before > 0.15, `before ${before.toFixed(4)}`);
  t.ok(after < 0.02, `after ${after.toFixed(4)}`);
});

t.test('pool adjacent violators averages a violating pair', async (t) => {
  // Labels 0,1,0,1 at p = .1,.2,.3,.4: the pair (.2: 1, .3: 0) violates and pools to 0.5.
  const c = fitIsotonic([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1], 4);
  t.same(c.x, [0.1, 0.25, 0.4]);
  t.same(c.y, [CALIBRATION_EPS, 0.5, 1 - CALIBRATION_EPS]);
});

t.test('the number of knots is capped, merging the lightest neighbours', async (t) => {
  const { p, y } = miscalibrated(50_000, 4);
  const c = fitIsotonic(p, y, p.length, 12);
  t.ok(c.x.length <= 12);
  t.ok(c.y.every((v, i) => i === 0 || v >= c.y[i - 1]!));
});
