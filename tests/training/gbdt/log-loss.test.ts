import t from 'tap';
import {
  logit,
  logLossGradients,
  meanLogLoss,
  meanLogLossRaw,
  sigmoid,
} from '../../../training/src/gbdt/log-loss.js';

/** Log loss of one row as a function of its raw score. */
function rowLoss(f: number, y: number): number {
  const p = sigmoid(f);
  return -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
}

t.test('gradient is p - y and hessian is p(1-p), matching finite differences of the loss', async (t) => {
  const raw = Float64Array.of(-3, -0.5, 0, 0.7, 2.5, 4);
  const y = Uint8Array.of(1, 0, 1, 0, 1, 0);
  const gh = new Float64Array(2 * raw.length);
  logLossGradients(raw, y, raw.length, gh);
  const eps = 1e-4;
  for (let r = 0; r < raw.length; r++) {
    const f = raw[r]!;
    const yr = y[r]!;
    const p = sigmoid(f);
    t.equal(gh[2 * r], p - yr, `g of row ${r}`);
    t.equal(gh[2 * r + 1], p * (1 - p), `h of row ${r}`);
    const numG = (rowLoss(f + eps, yr) - rowLoss(f - eps, yr)) / (2 * eps);
    const numH = (rowLoss(f + eps, yr) - 2 * rowLoss(f, yr) + rowLoss(f - eps, yr)) / (eps * eps);
    t.ok(Math.abs(numG - gh[2 * r]!) < 1e-7, `numeric g of row ${r}`);
    t.ok(Math.abs(numH - gh[2 * r + 1]!) < 1e-4, `numeric h of row ${r}`);
  }
});

t.test('hessians never reach zero, even for scores far past certainty', async (t) => {
  const gh = new Float64Array(2);
  logLossGradients(Float64Array.of(800), Uint8Array.of(1), 1, gh);
  t.ok(gh[1]! > 0);
});

t.test(
  'mean log loss on raw scores equals the loss on probabilities, and stays finite at extremes',
  async (t) => {
    const raw = Float64Array.of(-2, 0, 1.5, 40, -40);
    const y = Uint8Array.of(0, 1, 1, 1, 0);
    const p = Array.from(raw, sigmoid);
    t.ok(Math.abs(meanLogLossRaw(raw, y, raw.length) - meanLogLoss(p, Array.from(y))) < 1e-12);
    t.ok(Number.isFinite(meanLogLossRaw(Float64Array.of(1000), Uint8Array.of(0), 1)));
    t.equal(meanLogLoss([0.5, 0.5], [1, 0]), Math.log(2));
  },
);

t.test('logit inverts sigmoid', async (t) => {
  for (const p of [0.01, 0.3, 0.5, 0.9]) t.ok(Math.abs(sigmoid(logit(p)) - p) < 1e-12);
});
