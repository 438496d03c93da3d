/**
 * The seeded bootstrap: reproducible for a seed, agrees with the closed forms
 * where they exist (a mean, a difference of rates within arms), and widens
 * honestly when rows come in correlated clusters.
 */
import t from 'tap';
import { EVALUATION_ERR } from '../../../evaluation/src/evaluation-errors.js';
import { bootstrapInterval } from '../../../evaluation/src/stats/bootstrap-interval.js';
import { rateDifferenceInterval } from '../../../evaluation/src/stats/rate-difference-interval.js';
import { throwsCoded } from './expect-error.js';
import { Prng, standardNormal } from './simulation.js';

/** Mean of `values` over the resampled rows. */
function meanOver(values: Float64Array): (rows: Uint32Array, count: number) => number {
  return (rows, count) => {
    let sum = 0;
    for (let i = 0; i < count; i++) sum += values[rows[i] ?? 0] ?? 0;
    return sum / count;
  };
}

t.test('the same seed gives the same interval; another seed a close one', async (t) => {
  const random = new Prng(1);
  const values = Float64Array.from({ length: 500 }, () => 10 + 3 * standardNormal(random));
  const a = bootstrapInterval(values.length, meanOver(values), { seed: 7 });
  const b = bootstrapInterval(values.length, meanOver(values), { seed: 7 });
  const c = bootstrapInterval(values.length, meanOver(values), { seed: 8 });
  t.same(a, b, 'bit for bit');
  t.not(a.lower, c.lower);
  t.ok(Math.abs(a.lower - c.lower) < 0.1 * (a.upper - a.lower), 'seed noise is small next to the width');
});

t.test('for a mean it agrees with mean +- 1.96 s / sqrt(n)', async (t) => {
  const random = new Prng(2);
  const n = 2000;
  const values = Float64Array.from({ length: n }, () => 5 + 2 * standardNormal(random));
  let mean = 0;
  for (const v of values) mean += v / n;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  const se = Math.sqrt(squares / (n - 1) / n);
  const boot = bootstrapInterval(n, meanOver(values), { resamples: 4000 });
  t.ok(Math.abs(boot.estimate - mean) < 1e-12, 'estimate is the statistic on the data');
  t.ok(Math.abs(boot.standardError / se - 1) < 0.08, `standard error ${boot.standardError} vs ${se}`);
  t.ok(Math.abs(boot.lower - (mean - 1.96 * se)) < 0.15 * 1.96 * se, `lower ${boot.lower}`);
  t.ok(Math.abs(boot.upper - (mean + 1.96 * se)) < 0.15 * 1.96 * se, `upper ${boot.upper}`);
  t.equal(boot.invalidResamples, 0);
});

t.test('stratified by arm, a difference of rates matches the Newcombe interval', async (t) => {
  // 3000 control rows with 90 events, 3000 treatment rows with 60 events.
  const n = 6000;
  const arm = new Uint8Array(n);
  const event = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    arm[i] = i < 3000 ? 0 : 1;
    event[i] = (i < 3000 && i < 90) || (i >= 3000 && i < 3060) ? 1 : 0;
  }
  const difference = (rows: Uint32Array, count: number): number => {
    let tN = 0;
    let tX = 0;
    let cN = 0;
    let cX = 0;
    for (let i = 0; i < count; i++) {
      const r = rows[i] ?? 0;
      if (arm[r] === 1) {
        tN++;
        tX += event[r] ?? 0;
      } else {
        cN++;
        cX += event[r] ?? 0;
      }
    }
    return tX / tN - cX / cN;
  };
  const boot = bootstrapInterval(n, difference, { strata: arm, seed: 3 });
  const newcombe = rateDifferenceInterval({ successes: 60, trials: 3000 }, { successes: 90, trials: 3000 });
  t.ok(Math.abs(boot.estimate - newcombe.estimate) < 1e-15);
  const width = newcombe.upper - newcombe.lower;
  t.ok(Math.abs(boot.lower - newcombe.lower) < 0.1 * width, `lower ${boot.lower} vs ${newcombe.lower}`);
  t.ok(Math.abs(boot.upper - newcombe.upper) < 0.1 * width, `upper ${boot.upper} vs ${newcombe.upper}`);
});

t.test('clustered rows: resampling whole clusters gives the cluster-level standard error', async (t) => {
  // 200 sessions of 20 decisions each; a session effect dominates the noise,
  // so the 4000 rows carry about as much information as 200 independent ones.
  const random = new Prng(4);
  const sessions = 200;
  const perSession = 20;
  const n = sessions * perSession;
  const values = new Float64Array(n);
  const cluster = new Uint32Array(n);
  const sessionMeans = new Float64Array(sessions);
  for (let s = 0; s < sessions; s++) {
    const effect = 3 * standardNormal(random);
    for (let j = 0; j < perSession; j++) {
      const row = s * perSession + j;
      values[row] = effect + 0.5 * standardNormal(random);
      cluster[row] = 1000 + 7 * s;
      sessionMeans[s] = (sessionMeans[s] ?? 0) + (values[row] ?? 0) / perSession;
    }
  }
  let grand = 0;
  for (const m of sessionMeans) grand += m / sessions;
  let squares = 0;
  for (const m of sessionMeans) squares += (m - grand) ** 2;
  const clusterSe = Math.sqrt(squares / (sessions - 1) / sessions);

  const rowLevel = bootstrapInterval(n, meanOver(values), { seed: 5 });
  const clustered = bootstrapInterval(n, meanOver(values), { seed: 5, clusters: cluster });
  t.comment(
    `row-level se ${rowLevel.standardError.toFixed(4)}, clustered ${clustered.standardError.toFixed(4)}, cluster means ${clusterSe.toFixed(4)}`,
  );
  t.ok(Math.abs(clustered.standardError / clusterSe - 1) < 0.1, 'clustered matches the cluster-level se');
  t.ok(rowLevel.standardError < 0.5 * clustered.standardError, 'row-level resampling would understate it');
});

t.test('clusters of unequal size and statistics that fail on some resamples', async (t) => {
  const n = 50;
  const cluster = Uint32Array.from({ length: n }, (_, i) => (i < 40 ? 0 : i));
  const values = Float64Array.from({ length: n }, (_, i) => i);
  const boot = bootstrapInterval(n, meanOver(values), { clusters: cluster, resamples: 200 });
  t.ok(boot.lower <= boot.upper, 'a resample longer than the data is handled');
  const picky = bootstrapInterval(
    n,
    (rows, count) => {
      for (let i = 0; i < count; i++) if (rows[i] === 0) return Number.NaN;
      return count;
    },
    { resamples: 200 },
  );
  t.ok(
    picky.invalidResamples > 0 && picky.invalidResamples < 200,
    `${picky.invalidResamples} invalid resamples left out`,
  );
});

t.test('bad inputs are coded errors', async (t) => {
  const stat = (): number => 0;
  throwsCoded(t, () => bootstrapInterval(0, stat), EVALUATION_ERR.INVALID_COUNTS, 'rowCount');
  throwsCoded(
    t,
    () => bootstrapInterval(3, stat, { resamples: 10 }),
    EVALUATION_ERR.INVALID_PARAMETER,
    'resamples',
  );
  throwsCoded(
    t,
    () => bootstrapInterval(3, stat, { confidence: 95 }),
    EVALUATION_ERR.INVALID_PARAMETER,
    'confidence',
  );
  throwsCoded(
    t,
    () => bootstrapInterval(3, stat, { clusters: [0, 1] }),
    EVALUATION_ERR.INVALID_PARAMETER,
    'clusters',
  );
  throwsCoded(
    t,
    () => bootstrapInterval(3, stat, { clusters: [0, -1, 2] }),
    EVALUATION_ERR.INVALID_COUNTS,
    'clusters[1]',
  );
  throwsCoded(
    t,
    () => bootstrapInterval(3, stat, { clusters: [0, 0, 1], strata: [0, 1, 1] }),
    EVALUATION_ERR.INVALID_PARAMETER,
    'strata[1]',
  );
});
