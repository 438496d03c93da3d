/**
 * The sequential sample-ratio-mismatch check at alpha = 0.001: its Bayes
 * factor is the Dirichlet-multinomial predictive probability of the
 * assignment sequence over its probability under the expected shares; an
 * injected 45/55 imbalance trips it (after how many units is printed); a
 * clean 50/50 stream checked continuously trips it no more often than alpha
 * allows, where a chi-square test read at every check would.
 */
import t from 'tap';
import { EVALUATION_ERR } from '../../../evaluation/src/evaluation-errors.js';
import { type SrmResult, sampleRatioMismatch } from '../../../evaluation/src/stats/sample-ratio-mismatch.js';
import { throwsCoded } from './expect-error.js';
import { binomial, monteCarloSlack, Prng } from './simulation.js';

const ALPHA = 0.001;
const IMBALANCE_RUNS = 100;
/** Units after which an undetected 45/55 split counts as missed. */
const IMBALANCE_HORIZON = 20_000;
const CLEAN_RUNS = 2000;
const CLEAN_UNITS = 10_000;
const CLEAN_BATCH = 10;
/** The chi-square (1 df) critical value at 0.001, read at every check by a naive monitor. */
const NAIVE_CHI_SQUARE = 10.827566170662733;

/** Draws `batch` assignments over the arms with `shares` into `counts`. */
function assign(random: Prng, counts: number[], shares: readonly number[], batch: number): void {
  let left = batch;
  let mass = 1;
  for (let i = 0; i < shares.length - 1; i++) {
    const share = shares[i] ?? 0;
    const k = binomial(random, left, Math.min(1, share / mass));
    counts[i] = (counts[i] ?? 0) + k;
    left -= k;
    mass -= share;
  }
  counts[shares.length - 1] = (counts[shares.length - 1] ?? 0) + left;
}

t.test('the Bayes factor is the sequential Dirichlet-multinomial predictive ratio', async (t) => {
  const shares = [0.5, 0.3, 0.2];
  const k = 100;
  const sequence = [0, 1, 0, 2, 2, 1, 0, 0, 2, 1, 1, 1, 0, 2];
  const counts = [0, 0, 0];
  let logRatio = 0;
  for (const arm of sequence) {
    const n = (counts[0] ?? 0) + (counts[1] ?? 0) + (counts[2] ?? 0);
    const predictive = (k * (shares[arm] ?? 0) + (counts[arm] ?? 0)) / (k + n);
    logRatio += Math.log(predictive) - Math.log(shares[arm] ?? 0);
    counts[arm] = (counts[arm] ?? 0) + 1;
    const r = sampleRatioMismatch(counts, shares, { concentration: k });
    t.ok(
      Math.abs(r.logBayesFactor - logRatio) < 1e-10,
      `after ${n + 1} units: ${r.logBayesFactor} = ${logRatio}`,
    );
  }
  t.equal(sampleRatioMismatch([0, 0], [0.5, 0.5]).pValue, 1, 'no units: no evidence');
});

t.test('an injected 45/55 imbalance trips the check at alpha 0.001', async (t) => {
  const trippedAt: number[] = [];
  for (let run = 0; run < IMBALANCE_RUNS; run++) {
    const random = new Prng(40_000 + run);
    const counts = [0, 0];
    let result: SrmResult | undefined;
    // Checked after every single unit: the most continuous monitoring there is.
    for (let unit = 1; unit <= IMBALANCE_HORIZON; unit++) {
      assign(random, counts, [0.45, 0.55], 1);
      result = sampleRatioMismatch(counts, [0.5, 0.5], { alpha: ALPHA }, result);
      if (result.mismatch) {
        trippedAt.push(unit);
        break;
      }
    }
  }
  trippedAt.sort((a, b) => a - b);
  const at = (q: number): number => trippedAt[Math.floor(q * (trippedAt.length - 1))] ?? 0;
  t.comment(
    `45/55 against 50/50 at alpha ${ALPHA}: tripped in ${trippedAt.length} of ${IMBALANCE_RUNS} runs; ` +
      `units to trip: min ${at(0)}, median ${at(0.5)}, 90th percentile ${at(0.9)}, max ${at(1)}`,
  );
  t.equal(trippedAt.length, IMBALANCE_RUNS, `every run trips within ${IMBALANCE_HORIZON} units`);
});

t.test(
  'a clean 50/50 stream checked continuously stays under alpha, a peeked chi-square does not',
  async (t) => {
    const started = performance.now();
    const minP: number[] = [];
    let naiveTrips = 0;
    for (let run = 0; run < CLEAN_RUNS; run++) {
      const random = new Prng(50_000 + run);
      const counts = [0, 0];
      let result: SrmResult | undefined;
      let naiveTripped = false;
      for (let unit = CLEAN_BATCH; unit <= CLEAN_UNITS; unit += CLEAN_BATCH) {
        assign(random, counts, [0.5, 0.5], CLEAN_BATCH);
        result = sampleRatioMismatch(counts, [0.5, 0.5], { alpha: ALPHA }, result);
        const d = (counts[0] ?? 0) - unit / 2;
        if ((4 * d * d) / unit > NAIVE_CHI_SQUARE) naiveTripped = true;
      }
      minP.push(result?.pValue ?? 1);
      if (naiveTripped) naiveTrips++;
    }
    const rateAt = (alpha: number): number => minP.filter((p) => p <= alpha).length / CLEAN_RUNS;
    const naive = naiveTrips / CLEAN_RUNS;
    t.comment(
      `clean 50/50, ${CLEAN_UNITS} units checked every ${CLEAN_BATCH}, ${CLEAN_RUNS} runs: false trips ` +
        `${rateAt(ALPHA)} at alpha ${ALPHA} (${rateAt(0.01)} at 0.01, ${rateAt(0.05)} at 0.05); ` +
        `chi-square peeked at every check ${naive}; ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    for (const alpha of [ALPHA, 0.01, 0.05]) {
      t.ok(
        rateAt(alpha) <= alpha + monteCarloSlack(alpha, CLEAN_RUNS),
        `false trips at ${alpha}: ${rateAt(alpha)}`,
      );
    }
    t.ok(naive > 3 * ALPHA, `a chi-square test read at every check trips ${naive} of clean runs`);
  },
);

t.test('three arms with unequal shares: clean passes, a shifted split trips', async (t) => {
  const expected = [0.5, 0.25, 0.25];
  const runs = 300;
  let clean = 0;
  let shifted = 0;
  for (let run = 0; run < runs; run++) {
    for (const [truth, seed] of [
      [expected, 60_000],
      [[0.5, 0.22, 0.28], 70_000],
    ] as const) {
      const random = new Prng(seed + run);
      const counts = [0, 0, 0];
      let result: SrmResult | undefined;
      for (let unit = 0; unit < 20_000; unit += 50) {
        assign(random, counts, truth, 50);
        result = sampleRatioMismatch(counts, expected, {}, result);
      }
      if (result?.mismatch) {
        if (seed === 60_000) clean++;
        else shifted++;
      }
    }
  }
  t.comment(
    `3 arms, 20000 units each: clean tripped ${clean}/${runs}, 25/25 -> 22/28 tripped ${shifted}/${runs}`,
  );
  t.ok(clean / runs <= ALPHA + monteCarloSlack(ALPHA, runs));
  t.ok(shifted / runs >= 0.95);
});

t.test('shares and counts are validated', async (t) => {
  throwsCoded(
    t,
    () => sampleRatioMismatch([1, 2], [0.5, 0.6]),
    EVALUATION_ERR.INVALID_SHARES,
    'expectedShares',
  );
  throwsCoded(t, () => sampleRatioMismatch([1, 2], [1]), EVALUATION_ERR.INVALID_SHARES, 'expectedShares');
  throwsCoded(
    t,
    () => sampleRatioMismatch([1, 2], [0, 1]),
    EVALUATION_ERR.INVALID_SHARES,
    'expectedShares[0]',
  );
  throwsCoded(
    t,
    () => sampleRatioMismatch([1, 2, 3], [0.5, 0.5]),
    EVALUATION_ERR.INVALID_SHARES,
    'expectedShares',
  );
  throwsCoded(t, () => sampleRatioMismatch([1, -2], [0.5, 0.5]), EVALUATION_ERR.INVALID_COUNTS, 'counts[1]');
  throwsCoded(
    t,
    () => sampleRatioMismatch([1, 2], [0.5, 0.5], { concentration: 0 }),
    EVALUATION_ERR.INVALID_PARAMETER,
    'concentration',
  );
  t.doesNotThrow(() => sampleRatioMismatch([1, 2, 3], [1 / 3, 1 / 3, 1 / 3]), 'rounded thirds are fine');
});
