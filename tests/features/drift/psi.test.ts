/**
 * PSI and its window-aware alarm threshold (issue 14 item 1): on windows of
 * identical data the folklore fixed 0.1 fires most of the time on small
 * windows, the threshold here about alpha of the time; a real shift is caught.
 */
import { binOf, PSI_MATERIALITY, psi, psiAlarmThreshold } from '@mercato/features/drift/psi';
import t from 'tap';
import { driftBaseline } from '../../../training/src/bundle/drift-baseline.js';
import { Prng } from '../../../training/src/simulator/prng.js';

const WINDOWS = 4000;

function falseAlarmRates(bins: number, rows: number, seed: number): { fixed: number; windowAware: number } {
  const rng = new Prng(seed);
  const shares = Array.from({ length: bins }, () => 1 / bins);
  const counts = new Uint32Array(bins);
  const threshold = psiAlarmThreshold(bins, rows);
  let fixed = 0;
  let windowAware = 0;
  for (let w = 0; w < WINDOWS; w++) {
    counts.fill(0);
    for (let i = 0; i < rows; i++) counts[Math.floor(rng.float() * bins)]! += 1;
    const value = psi(shares, counts, rows);
    if (value > PSI_MATERIALITY) fixed++;
    if (value > threshold) windowAware++;
  }
  return { fixed: fixed / WINDOWS, windowAware: windowAware / WINDOWS };
}

t.test(
  'no drift, small windows: a fixed 0.1 fires most of the time, the window-aware threshold about alpha',
  async (t) => {
    const small = falseAlarmRates(10, 50, 11);
    t.ok(small.fixed > 0.5, `fixed 0.1 on 50-row windows over 10 bins fires in ${small.fixed}`);
    t.ok(small.windowAware <= 0.005, `window-aware threshold fires in ${small.windowAware} (alpha 0.001)`);
    const medium = falseAlarmRates(10, 200, 12);
    t.ok(medium.windowAware <= 0.005, `200-row windows: ${medium.windowAware}`);
  },
);

t.test('a real shift is caught on a window of a thousand rows', async (t) => {
  const rng = new Prng(5);
  const bins = 10;
  const shares = Array.from({ length: bins }, () => 1 / bins);
  const counts = new Uint32Array(bins);
  let caught = 0;
  for (let w = 0; w < 200; w++) {
    counts.fill(0);
    // 30% of the mass moves into the last bin (a store's stock collapsing to one bucket).
    for (let i = 0; i < 1000; i++)
      counts[rng.float() < 0.3 ? bins - 1 : Math.floor(rng.float() * bins)]! += 1;
    if (psi(shares, counts, 1000) > psiAlarmThreshold(bins, 1000)) caught++;
  }
  t.equal(caught, 200, 'every drifted window alarms');
});

t.test(
  'the threshold: materiality floor on large windows, Bonferroni over features, nothing to judge when empty',
  async (t) => {
    t.equal(psiAlarmThreshold(10, 1_000_000), PSI_MATERIALITY);
    t.ok(
      psiAlarmThreshold(10, 100, { comparisons: 23 }) > psiAlarmThreshold(10, 100),
      'more features, higher bar',
    );
    t.equal(psiAlarmThreshold(10, 0), Number.POSITIVE_INFINITY);
    t.equal(psiAlarmThreshold(1, 100), Number.POSITIVE_INFINITY);
    t.equal(psi([0.5, 0.5], [0, 0], 0), 0);
  },
);

t.test(
  'binOf counts like the bundle baseline: the training rows reproduce their own shares (PSI ~ 0)',
  async (t) => {
    const rng = new Prng(9);
    const rows = 20_000;
    const x = new Float32Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      x[r * 2] = Math.floor(rng.float() * 40); // heavy repeated values
      x[r * 2 + 1] = rng.float() * 1000;
    }
    const base = driftBaseline(x, rows, ['a', 'b']);
    for (const [col, name] of ['a', 'b'].entries()) {
      const h = base[name]!;
      const edges = Float64Array.from(h.edges);
      const counts = new Uint32Array(h.shares.length);
      for (let r = 0; r < rows; r++) counts[binOf(edges, x[r * 2 + col]!)]! += 1;
      t.ok(psi(h.shares, counts, rows) < 1e-3, `${name}: PSI ${psi(h.shares, counts, rows)}`);
    }
    const edges = Float64Array.from([-1e38, 0, 5, 1e38]);
    t.equal(binOf(edges, 0), 0, 'a value on an edge belongs to the bin below it');
    t.equal(binOf(edges, 0.1), 1);
    t.equal(binOf(edges, 99), 2);
    t.equal(binOf(edges, Number.NaN), 0, 'NaN goes to the first bin');
  },
);
