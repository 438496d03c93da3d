/**
 * Online calibration: a calibrated model's promises raise no alarm on
 * windows of any size, while a model whose promises fail twice as often as
 * it says is caught once enough outcomes landed; the reliability curve's
 * equal-mass bins follow promises that all sit near 1.
 */
import t from 'tap';
import {
  CalibrationAccumulator,
  ECE_MATERIALITY,
} from '../../../evaluation/src/calibration/online-calibration.js';
import { Prng } from '../../../training/src/simulator/prng.js';

/** Promises with p in [0.85, 1) (above a checkout threshold); fulfilled with probability truth(p). */
function window(n: number, seed: number, truth: (p: number) => number): CalibrationAccumulator {
  const rng = new Prng(seed);
  const acc = new CalibrationAccumulator();
  for (let i = 0; i < n; i++) {
    const p = 0.85 + 0.15 * rng.float() ** 0.5;
    acc.add(p, rng.float() < truth(p));
  }
  return acc;
}

t.test('calibrated promises: no alarm on small or large windows', async (t) => {
  let alarms = 0;
  for (let s = 0; s < 200; s++) if (window(300, 100 + s, (p) => p).report().alarm) alarms++;
  t.ok(alarms <= 2, `${alarms} alarms in 200 windows of 300 promises (alpha 0.001)`);
  const big = window(200_000, 9, (p) => p).report();
  t.notOk(big.alarm);
  t.ok(big.ece < 0.005, `ECE ${big.ece} on 200K calibrated promises`);
  t.ok(Math.abs(big.expectedFailureRate - big.realizedFailureRate) < 0.002, 'expected ~ realized oversell');
});

t.test('promises failing twice as often as they say are caught, with the gap in the curve', async (t) => {
  const report = window(20_000, 3, (p) => 1 - 2 * (1 - p)).report();
  t.ok(report.alarm, `alarm (ECE ${report.ece}, HL p ${report.hosmerLemeshow?.pValue})`);
  t.ok(report.ece > ECE_MATERIALITY);
  t.ok(report.realizedFailureRate > 1.7 * report.expectedFailureRate, 'realized oversell ~2x expected');
  t.ok(
    report.bins.length >= 8 && report.bins.length <= 10,
    `${report.bins.length} bins although every p is above 0.85`,
  );
  for (const b of report.bins) {
    t.ok(b.n >= 1000 && b.n < 5000, `bin ${b.pLow}-${b.pHigh}: ${b.n} promises`);
    t.ok(b.upper < b.meanP + 0.002, 'each bin observed below its mean p');
  }
});

t.test('accumulators merge, an empty one reports nothing', async (t) => {
  const a = window(1000, 1, (p) => p);
  const b = window(1000, 2, (p) => p);
  const both = new CalibrationAccumulator();
  both.merge(a);
  both.merge(b);
  t.equal(both.n, 2000);
  const empty = new CalibrationAccumulator().report();
  t.equal(empty.n, 0);
  t.equal(empty.hosmerLemeshow, null);
  t.notOk(empty.alarm);
});
