/**
 * CUPED on synthetic data whose metric correlates with a pre-period
 * covariate: over seeded replications the adjusted difference is unbiased,
 * its variance shrinks by about rho^2, the variance it reports matches the
 * spread it actually has, and its interval covers the truth. The moment
 * accumulator agrees with a two-pass computation, merges exactly and keeps
 * its digits far from zero.
 */
import t from 'tap';
import { EVALUATION_ERR } from '../../../evaluation/src/evaluation-errors.js';
import { cupedDifference, cupedTheta } from '../../../evaluation/src/stats/cuped.js';
import {
  addObservation,
  emptyMoments,
  mergeMoments,
  momentsOf,
  type PairedMoments,
} from '../../../evaluation/src/stats/paired-moments.js';
import { throwsCoded } from './expect-error.js';
import { Prng, standardNormal } from './simulation.js';

const REPLICATIONS = 400;
const PER_ARM = 1000;
const EFFECT = 0.1;
/** Y = 3 + SLOPE X + N(0, 1), X ~ N(10, SD_X^2): rho^2 = SLOPE^2 SD_X^2 / (SLOPE^2 SD_X^2 + 1). */
const SLOPE = 0.8;
const SD_X = 2;
const RHO_SQUARED = (SLOPE * SLOPE * SD_X * SD_X) / (SLOPE * SLOPE * SD_X * SD_X + 1);

function arm(random: Prng, effect: number): PairedMoments {
  const m = emptyMoments();
  for (let i = 0; i < PER_ARM; i++) {
    const x = 10 + SD_X * standardNormal(random);
    addObservation(m, 3 + SLOPE * x + standardNormal(random) + effect, x);
  }
  return m;
}

function meanAndVariance(values: number[]): { mean: number; variance: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
  return { mean, variance };
}

t.test('CUPED is unbiased and removes about rho^2 of the variance', async (t) => {
  const random = new Prng(21);
  const adjusted: number[] = [];
  const plain: number[] = [];
  const reported: number[] = [];
  const reductions: number[] = [];
  let covered = 0;
  for (let r = 0; r < REPLICATIONS; r++) {
    const result = cupedDifference(arm(random, EFFECT), arm(random, 0));
    adjusted.push(result.estimate);
    plain.push(result.unadjustedEstimate);
    reported.push(result.variance);
    reductions.push(result.varianceReduction);
    if (result.lower <= EFFECT && EFFECT <= result.upper) covered++;
  }
  const a = meanAndVariance(adjusted);
  const p = meanAndVariance(plain);
  const meanReported = reported.reduce((x, y) => x + y, 0) / REPLICATIONS;
  const meanReduction = reductions.reduce((x, y) => x + y, 0) / REPLICATIONS;
  const empiricalReduction = 1 - a.variance / p.variance;
  t.comment(
    `${REPLICATIONS} replications, ${PER_ARM}/arm, rho^2 ${RHO_SQUARED.toFixed(3)}: mean estimate adjusted ` +
      `${a.mean.toFixed(4)} plain ${p.mean.toFixed(4)} (truth ${EFFECT}); variance adjusted ${a.variance.toExponential(3)} ` +
      `plain ${p.variance.toExponential(3)} (reduction ${empiricalReduction.toFixed(3)}, reported ${meanReduction.toFixed(3)}); ` +
      `coverage ${covered / REPLICATIONS}`,
  );
  // Bias: within 3 standard errors of the mean of the replications.
  t.ok(Math.abs(a.mean - EFFECT) < 3 * Math.sqrt(a.variance / REPLICATIONS), 'adjusted estimate unbiased');
  t.ok(Math.abs(p.mean - EFFECT) < 3 * Math.sqrt(p.variance / REPLICATIONS), 'plain estimate unbiased');
  t.ok(Math.abs(empiricalReduction - RHO_SQUARED) < 0.06, `variance reduced by ${empiricalReduction}`);
  t.ok(Math.abs(meanReduction - RHO_SQUARED) < 0.02, `reported reduction ${meanReduction}`);
  t.ok(Math.abs(meanReported / a.variance - 1) < 0.2, 'the reported variance is the actual spread');
  t.ok(covered / REPLICATIONS > 0.92, `interval coverage ${covered / REPLICATIONS}`);
});

t.test('a covariate that does not vary changes nothing', async (t) => {
  const treatment = momentsOf([1, 2, 3, 4], [5, 5, 5, 5]);
  const control = momentsOf([0, 2, 1, 1], [5, 5, 5, 5]);
  const r = cupedDifference(treatment, control);
  t.equal(r.theta, 0);
  t.equal(r.estimate, r.unadjustedEstimate);
  t.equal(r.variance, r.unadjustedVariance);
  t.equal(r.varianceReduction, 0);
});

t.test('moments: streaming, merged and two-pass agree, also far from zero', async (t) => {
  const random = new Prng(22);
  const offset = 1e9;
  const y = Array.from({ length: 3000 }, () => offset + standardNormal(random));
  const x = y.map((v) => 0.5 * (v - offset) + offset + standardNormal(random));
  const all = momentsOf(y, x);
  const merged = mergeMoments(
    momentsOf(y.slice(0, 1234), x.slice(0, 1234)),
    momentsOf(y.slice(1234), x.slice(1234)),
  );
  let meanY = 0;
  let meanX = 0;
  for (let i = 0; i < y.length; i++) {
    meanY += ((y[i] ?? 0) - offset) / y.length;
    meanX += ((x[i] ?? 0) - offset) / y.length;
  }
  let squaresY = 0;
  let products = 0;
  for (let i = 0; i < y.length; i++) {
    squaresY += ((y[i] ?? 0) - offset - meanY) ** 2;
    products += ((y[i] ?? 0) - offset - meanY) * ((x[i] ?? 0) - offset - meanX);
  }
  for (const m of [all, merged]) {
    t.ok(Math.abs(m.squaresY / squaresY - 1) < 1e-6, `squares ${m.squaresY} vs ${squaresY}`);
    t.ok(Math.abs(m.products / products - 1) < 1e-6, `products ${m.products} vs ${products}`);
    t.equal(m.count, 3000);
  }
  t.ok(Math.abs(cupedTheta(all) / cupedTheta(merged) - 1) < 1e-6, 'same theta');
  t.same(mergeMoments(emptyMoments(), emptyMoments()), emptyMoments());
  t.same(mergeMoments(all, emptyMoments()), all, 'merging nothing changes nothing');
});

t.test('bad inputs are coded errors', async (t) => {
  throwsCoded(t, () => momentsOf([1, 2], [1]), EVALUATION_ERR.INVALID_PARAMETER, 'x');
  throwsCoded(t, () => addObservation(emptyMoments(), Number.NaN, 1), EVALUATION_ERR.INVALID_PARAMETER, 'y');
  throwsCoded(
    t,
    () => cupedDifference(momentsOf([1], [1]), momentsOf([1, 2], [1, 2])),
    EVALUATION_ERR.INVALID_COUNTS,
    'treatment.count',
  );
  throwsCoded(
    t,
    () => cupedDifference(momentsOf([1, 2], [1, 2]), momentsOf([1, 2], [1, 2]), 2),
    EVALUATION_ERR.INVALID_PARAMETER,
    'confidence',
  );
});
