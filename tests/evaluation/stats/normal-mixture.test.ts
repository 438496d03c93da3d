/**
 * The normal-mixture SPRT's closed forms against brute-force numerical
 * integration of the likelihood ratio over the mixing distribution, and the
 * confidence sequences as exactly the parameters the test does not reject.
 */
import t from 'tap';
import { EVALUATION_ERR } from '../../../evaluation/src/evaluation-errors.js';
import { logNormalCdf, normalCdf } from '../../../evaluation/src/stats/normal-distribution.js';
import {
  mixingVarianceForHorizon,
  mixtureHalfWidth,
  mixtureLogLikelihoodRatio,
  oneSidedMixtureLogLikelihoodRatio,
  oneSidedMixtureLowerBound,
} from '../../../evaluation/src/stats/normal-mixture.js';
import { throwsCoded } from './expect-error.js';

/** Simpson's rule on [a, b] with `steps` (even) intervals. */
function integrate(f: (x: number) => number, a: number, b: number, steps = 20000): number {
  const h = (b - a) / steps;
  let sum = f(a) + f(b);
  for (let i = 1; i < steps; i++) sum += (i % 2 === 1 ? 4 : 2) * f(a + i * h);
  return (sum * h) / 3;
}

/** Likelihood ratio of the Gaussian estimate at theta0 + delta against theta0. */
function pointRatio(d: number, variance: number, delta: number): number {
  return Math.exp((delta * d) / variance - (delta * delta) / (2 * variance));
}

const CASES: [number, number, number][] = [
  // estimate - null, variance, mixing variance
  [0, 1e-4, 1e-4],
  [0.01, 2e-5, 1e-4],
  [-0.02, 5e-5, 4e-4],
  [0.003, 1e-6, 1e-5],
];

t.test('the two-sided closed form equals the integral over delta ~ N(0, tau^2)', async (t) => {
  for (const [d, v, tau2] of CASES) {
    const tau = Math.sqrt(tau2);
    const density = (x: number): number => Math.exp(-(x * x) / (2 * tau2)) / (tau * Math.sqrt(2 * Math.PI));
    const numeric = integrate((x) => density(x) * pointRatio(d, v, x), -12 * tau, 12 * tau);
    const closed = mixtureLogLikelihoodRatio(0.5 + d, v, 0.5, tau2);
    t.ok(Math.abs(closed - Math.log(numeric)) < 1e-8, `d=${d} V=${v}: ${closed} = ln ${numeric}`);
  }
});

t.test('the one-sided closed form equals the integral over a half-normal delta > 0', async (t) => {
  for (const [d, v, tau2] of CASES) {
    const tau = Math.sqrt(tau2);
    const density = (x: number): number =>
      (2 * Math.exp(-(x * x) / (2 * tau2))) / (tau * Math.sqrt(2 * Math.PI));
    const numeric = integrate((x) => density(x) * pointRatio(d, v, x), 0, 12 * tau);
    const closed = oneSidedMixtureLogLikelihoodRatio(d, v, 0, tau2);
    t.ok(Math.abs(closed - Math.log(numeric)) < 1e-8, `d=${d} V=${v}: ${closed} = ln ${numeric}`);
  }
  // Far on the wrong side Lambda+ decays like 1/|u| (Phi(u) exp(u^2/2) ~
  // 1/(|u| sqrt(2 pi))): a finite logarithm, never ln 0.
  const wrongSide = oneSidedMixtureLogLikelihoodRatio(-1, 1e-6, 0, 1e-4);
  t.ok(Number.isFinite(wrongSide) && wrongSide < -5, `ln Lambda+ = ${wrongSide}`);
});

t.test('the confidence sequences are the nulls the tests do not reject', async (t) => {
  const alpha = 0.05;
  for (const [d, v, tau2] of CASES) {
    const estimate = 0.1 + d;
    const half = mixtureHalfWidth(v, tau2, alpha);
    for (const edge of [estimate - half, estimate + half]) {
      const llr = mixtureLogLikelihoodRatio(estimate, v, edge, tau2);
      t.ok(Math.abs(llr - Math.log(1 / alpha)) < 1e-9, `two-sided edge: ln Lambda = ln 20 (${llr})`);
    }
    const lower = oneSidedMixtureLowerBound(estimate, v, tau2, alpha);
    const atLower = oneSidedMixtureLogLikelihoodRatio(estimate, v, lower, tau2);
    t.ok(Math.abs(atLower - Math.log(1 / alpha)) < 1e-9, `one-sided edge: ln Lambda+ = ln 20 (${atLower})`);
    t.ok(lower > estimate - half, 'the one-sided bound is tighter than the two-sided one');
    t.ok(
      oneSidedMixtureLogLikelihoodRatio(estimate, v, lower + 1e-6, tau2) < Math.log(1 / alpha),
      'above it: kept',
    );
  }
});

t.test('the tuned mixing variance makes the sequence narrowest at the planned variance', async (t) => {
  const v = 3e-6;
  const tuned = mixingVarianceForHorizon(v, 0.05);
  t.ok(Math.abs(tuned / v - 8.2) < 0.1, `tau^2 = ${(tuned / v).toFixed(3)} V at alpha 0.05`);
  const best = mixtureHalfWidth(v, tuned, 0.05);
  t.ok(mixtureHalfWidth(v, tuned * 0.7, 0.05) > best && mixtureHalfWidth(v, tuned * 1.4, 0.05) > best);
  // About 1.5x the fixed-sample 95% half-width: the price of looking at every check.
  t.comment(`width ratio to fixed-sample: ${(best / (1.96 * Math.sqrt(v))).toFixed(3)}`);
});

t.test('ln Phi stays accurate and continuous into the far tail', async (t) => {
  t.ok(Math.abs(logNormalCdf(-20) - Math.log(normalCdf(-20))) < 1e-9, 'exact region');
  t.ok(Math.abs(logNormalCdf(-30.000001) - logNormalCdf(-29.999999)) < 1e-3, 'continuous at the switch');
  t.ok(Number.isFinite(logNormalCdf(-1e4)), 'no -Infinity');
});

t.test('variances must be positive, alpha in range', async (t) => {
  throwsCoded(
    t,
    () => mixtureLogLikelihoodRatio(0, 0, 0, 1e-4),
    EVALUATION_ERR.INVALID_PARAMETER,
    'variance',
  );
  throwsCoded(t, () => mixtureHalfWidth(1e-4, -1, 0.05), EVALUATION_ERR.INVALID_PARAMETER, 'mixingVariance');
  throwsCoded(
    t,
    () => oneSidedMixtureLowerBound(0, 1e-4, 1e-4, 0.5),
    EVALUATION_ERR.INVALID_PARAMETER,
    'alpha',
  );
  throwsCoded(t, () => mixingVarianceForHorizon(1e-4, 0), EVALUATION_ERR.INVALID_PARAMETER, 'alpha');
});
