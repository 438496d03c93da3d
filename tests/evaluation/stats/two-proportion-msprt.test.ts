/**
 * Peeking at a running A/B test: seeded A/A experiments checked after every
 * batch of outcomes, 2,000 checks each. The always-valid mSPRT keeps its
 * false-positive rate under alpha; a fixed-horizon z-test read at every check
 * (what a dashboard does) does not, by a wide margin. With a real difference
 * the mSPRT finds it, and its confidence sequence holds the true difference
 * at every check at once.
 */
import t from 'tap';
import { EVALUATION_ERR } from '../../../evaluation/src/evaluation-errors.js';
import {
  type SequentialTestResult,
  twoProportionMsprt,
} from '../../../evaluation/src/stats/two-proportion-msprt.js';
import { throwsCoded } from './expect-error.js';
import { binomial, monteCarloSlack, Prng } from './simulation.js';

const ALPHA = 0.05;
const CHECKS = 2000;
const NULL_RUNS = 500;
const POWER_RUNS = 200;
/** The fixed-horizon two-sided 5% critical value, read (wrongly) at every check. */
const NAIVE_Z = 1.959963984540054;

interface RunOutcome {
  /** Always-valid p-value after the last check (running minimum). */
  pValue: number;
  naiveRejected: boolean;
  /** Units per arm at the first check that rejected, or 0. */
  rejectedAt: number;
  /** The confidence sequence held the true difference at every check. */
  covered: boolean;
}

/** One seeded experiment: `batch` units per arm between checks, checked CHECKS times. */
function runExperiment(seed: number, pT: number, pC: number, batch: number): RunOutcome {
  const random = new Prng(seed);
  const treatment = { successes: 0, trials: 0 };
  const control = { successes: 0, trials: 0 };
  let result: SequentialTestResult | undefined;
  let naiveRejected = false;
  let rejectedAt = 0;
  let covered = true;
  for (let check = 0; check < CHECKS; check++) {
    treatment.successes += binomial(random, batch, pT);
    treatment.trials += batch;
    control.successes += binomial(random, batch, pC);
    control.trials += batch;
    result = twoProportionMsprt(treatment, control, { alpha: ALPHA }, result);
    if (result.rejected && rejectedAt === 0) rejectedAt = treatment.trials;
    if (result.lower > pT - pC || result.upper < pT - pC) covered = false;
    // The textbook pooled two-proportion z-test, as if this were the planned end.
    const pooled = (treatment.successes + control.successes) / (treatment.trials + control.trials);
    const se = Math.sqrt(pooled * (1 - pooled) * (1 / treatment.trials + 1 / control.trials));
    const z = se > 0 ? (treatment.successes / treatment.trials - control.successes / control.trials) / se : 0;
    if (Math.abs(z) > NAIVE_Z) naiveRejected = true;
  }
  return { pValue: result?.pValue ?? 1, naiveRejected, rejectedAt, covered };
}

function rate(runs: RunOutcome[], hit: (r: RunOutcome) => boolean): number {
  return runs.filter(hit).length / runs.length;
}

t.test('A/A, checked after every batch: mSPRT stays under alpha, the naive z-test does not', async (t) => {
  for (const [p, batch, seedBase] of [
    [0.05, 50, 10_000],
    [0.5, 20, 20_000],
  ] as const) {
    const started = performance.now();
    const runs: RunOutcome[] = [];
    for (let run = 0; run < NULL_RUNS; run++) runs.push(runExperiment(seedBase + run, p, p, batch));
    const msprt = rate(runs, (r) => r.pValue <= ALPHA);
    const naive = rate(runs, (r) => r.naiveRejected);
    const at01 = rate(runs, (r) => r.pValue <= 0.01);
    const at10 = rate(runs, (r) => r.pValue <= 0.1);
    t.comment(
      `A/A p=${p}, ${batch}/arm per check, ${CHECKS} checks, ${NULL_RUNS} runs: ` +
        `mSPRT false positives ${msprt} at alpha ${ALPHA} (${at01} at 0.01, ${at10} at 0.1); ` +
        `naive z-test ${naive}; ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    t.ok(msprt <= ALPHA + monteCarloSlack(ALPHA, NULL_RUNS), `mSPRT ${msprt} <= ${ALPHA} + slack`);
    t.ok(at01 <= 0.01 + monteCarloSlack(0.01, NULL_RUNS), `at alpha 0.01: ${at01}`);
    t.ok(at10 <= 0.1 + monteCarloSlack(0.1, NULL_RUNS), `at alpha 0.1: ${at10}`);
    t.ok(naive > 4 * ALPHA, `the naive z-test peeked ${CHECKS} times rejects ${naive} of true nulls`);
  }
});

t.test('a one-point difference in a 5% rate is found, and the sequence covers it', async (t) => {
  const pC = 0.05;
  const pT = 0.06;
  const batch = 50;
  const runs: RunOutcome[] = [];
  for (let run = 0; run < POWER_RUNS; run++) runs.push(runExperiment(30_000 + run, pT, pC, batch));
  const power = rate(runs, (r) => r.rejectedAt > 0);
  const coverage = rate(runs, (r) => r.covered);
  const detections = runs
    .map((r) => r.rejectedAt)
    .filter((n) => n > 0)
    .sort((a, b) => a - b);
  const median = detections[Math.floor(detections.length / 2)] ?? 0;
  t.comment(
    `pT=${pT} vs pC=${pC}: detected in ${Math.round(power * POWER_RUNS)} of ${POWER_RUNS} runs within ${CHECKS * batch} per arm, ` +
      `median ${median} per arm; sequence covered the truth at every check in ${coverage}`,
  );
  t.ok(power >= 0.9, `power ${power}`);
  t.ok(coverage >= 1 - ALPHA - monteCarloSlack(ALPHA, POWER_RUNS), `coverage ${coverage}`);
});

t.test('the p-value only falls and the sequence only narrows', async (t) => {
  let previous: SequentialTestResult | undefined;
  const counts: [number, number, number, number][] = [
    [5, 100, 3, 100],
    [30, 400, 10, 400],
    [40, 600, 25, 600],
    [90, 2000, 60, 2000],
  ];
  for (const [xT, nT, xC, nC] of counts) {
    const next = twoProportionMsprt(
      { successes: xT, trials: nT },
      { successes: xC, trials: nC },
      {},
      previous,
    );
    if (previous !== undefined) {
      t.ok(next.pValue <= previous.pValue, 'p-value is a running minimum');
      t.ok(
        next.lower >= previous.lower && next.upper <= previous.upper,
        'sequence is a running intersection',
      );
    }
    t.equal(next.rejected, next.pValue <= ALPHA);
    t.equal(next.checks, (previous?.checks ?? 0) + 1);
    previous = next;
  }
  const empty = twoProportionMsprt({ successes: 0, trials: 0 }, { successes: 1, trials: 5 });
  t.equal(empty.pValue, 1, 'no trials in an arm: no evidence');
  t.equal(empty.logLikelihoodRatio, 0);
  t.ok(Number.isNaN(empty.difference));
  const zeros = twoProportionMsprt({ successes: 0, trials: 50 }, { successes: 0, trials: 50 });
  t.ok(zeros.variance > 0 && zeros.pValue === 1, 'no events yet is not zero variance');
});

t.test('bad inputs are coded errors', async (t) => {
  const ok = { successes: 1, trials: 10 };
  throwsCoded(t, () => twoProportionMsprt({ successes: 2, trials: 1 }, ok), EVALUATION_ERR.INVALID_COUNTS);
  throwsCoded(t, () => twoProportionMsprt(ok, ok, { alpha: 0 }), EVALUATION_ERR.INVALID_PARAMETER, 'alpha');
  throwsCoded(
    t,
    () => twoProportionMsprt(ok, ok, { mixingVariance: 0 }),
    EVALUATION_ERR.INVALID_PARAMETER,
    'mixingVariance',
  );
});
