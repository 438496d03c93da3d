/**
 * With a tie tolerance, two features whose best splits differ only by
 * float-summation noise tie, and the lower feature wins; without it (the
 * default) the noise decides, as before.
 */
import t from 'tap';
import { findBestSplit, type SplitCandidate } from '../../../training/src/gbdt/split-gain.js';

const MAX_BINS = 4;
// Two features, 4 bins each, [g, h] per bin; feature 1 = feature 0 with 1e-15 of noise on one gradient sum.
const f0 = [-3, 2, -1, 2, 2, 2, 2, 2];
const f1 = [-3 - 1e-15, 2, -1, 2, 2, 2, 2, 2];
const hist = Float64Array.from([...f0, ...f1]);
const g = f0.filter((_, i) => i % 2 === 0).reduce((a, b) => a + b, 0);
const h = f0.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0);
const features = Int32Array.from([0, 1]);
const binCounts = Int32Array.from([4, 4]);

function best(tol: number): SplitCandidate {
  const out: SplitCandidate = { gain: 0, feature: -1, bin: -1, gl: 0, hl: 0 };
  findBestSplit(hist, 0, features, binCounts, MAX_BINS, g, h, 1, 0, 0, out, tol);
  return out;
}

t.test('noise decides without a tolerance; the first feature wins a tie with one', async (t) => {
  const exact = best(0);
  t.equal(exact.feature, 1, 'the noisier gradient sum gives feature 1 a marginally larger gain');
  t.equal(exact.bin, 1);
  const tolerant = best(1e-9);
  t.equal(tolerant.feature, 0, 'within the tolerance it is a tie: the lowest feature is kept');
  t.equal(tolerant.bin, 1);
  t.ok(tolerant.gain > 0);
});
