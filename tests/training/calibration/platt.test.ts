import t from 'tap';
import { calibrate } from '../../../proto/v1/model-manifest.js';
import { fitPlatt } from '../../../training/src/calibration/platt.js';
import { ece } from '../../../training/src/evaluate/metrics.js';
import { Prng } from '../../../training/src/simulator/prng.js';

t.test('Platt scaling recovers the slope and offset that generated the labels', async (t) => {
  const rng = new Prng(5);
  const rows = 60_000;
  const p = new Float64Array(rows);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const q = 0.02 + 0.96 * rng.float();
    p[i] = q;
    const z = 2 * Math.log(q / (1 - q)) - 0.5;
    y[i] = rng.float() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  const c = fitPlatt(p, y, rows);
  t.ok(Math.abs(c.a - 2) < 0.1, `a = ${c.a}`);
  t.ok(Math.abs(c.b + 0.5) < 0.1, `b = ${c.b}`);
  const after = ece(
    p.map((q) => calibrate(c, q)),
    y,
    rows,
  );
  t.ok(after < ece(p, y, rows), 'calibrated rows are better calibrated');
});
