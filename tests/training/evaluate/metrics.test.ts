import t from 'tap';
import { auc, ece, policyStats, reliability, topKPolicy } from '../../../training/src/evaluate/metrics.js';

t.test('AUC is 1 for a perfect ranking, 0 for a reversed one and 0.5 for all ties', async (t) => {
  t.equal(auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], 4), 1);
  t.equal(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1], 4), 0);
  t.equal(auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1], 4), 0.5);
  // One inversion out of four pairs.
  t.equal(auc([0.1, 0.6, 0.5, 0.9], [0, 0, 1, 1], 4), 0.75);
});

t.test('ECE is the row-weighted gap between mean p and observed rate per bin', async (t) => {
  // Bin [0.9, 1.0): p .95 x2, labels 1,0 -> |0.95 - 0.5| = .45 on 2 of 4 rows; bin [0.1, 0.2): p .15 x2, labels 0,0 -> .15.
  const p = [0.95, 0.95, 0.15, 0.15];
  const y = [1, 0, 0, 0];
  t.ok(Math.abs(ece(p, y, 4) - (0.5 * 0.45 + 0.5 * 0.15)) < 1e-12);
  const bins = reliability(p, y, 4);
  t.equal(bins.length, 10);
  t.equal(bins[9]!.rows, 2);
  t.equal(bins[1]!.meanY, 0);
});

t.test('policy stats count promises, oversells, available promises and cost', async (t) => {
  const promise = Uint8Array.of(1, 1, 1, 0, 0);
  const y = [1, 0, 1, 1, 0];
  const s = policyStats(promise, y, 5, 10);
  t.equal(s.promiseRate, 0.6);
  t.equal(s.oversellRate, 1 / 3);
  t.equal(s.availablePromiseRate, 2 / 3);
  t.equal(s.expectedCost, (10 * 1 + 1) / 5);
});

t.test('the top-k policy promises exactly k rows, highest p first, ties by row order', async (t) => {
  const { promise, threshold } = topKPolicy([0.2, 0.9, 0.5, 0.5, 0.1], 5, 3);
  t.same(Array.from(promise), [0, 1, 1, 1, 0]);
  t.equal(threshold, 0.5);
  const two = topKPolicy([0.2, 0.9, 0.5, 0.5, 0.1], 5, 2);
  t.same(Array.from(two.promise), [0, 1, 1, 0, 0]);
});
