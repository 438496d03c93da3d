import t from 'tap';
import {
  findBestSplit,
  leafValue,
  type SplitCandidate,
  splitGain,
} from '../../../training/src/gbdt/split-gain.js';

function candidate(): SplitCandidate {
  return { gain: 0, feature: -1, bin: -1, gl: 0, hl: 0 };
}

t.test('split gain is half the children scores minus the parent score, minus gamma', async (t) => {
  // GL = -4, HL = 2, GR = 6, HR = 3, lambda = 1: 0.5 * (16/3 + 36/4 - 4/6) = 6.8333...
  t.ok(Math.abs(splitGain(-4, 2, 6, 3, 1, 0) - 0.5 * (16 / 3 + 36 / 4 - 4 / 6)) < 1e-12);
  t.ok(Math.abs(splitGain(-4, 2, 6, 3, 1, 0.5) - (0.5 * (16 / 3 + 36 / 4 - 4 / 6) - 0.5)) < 1e-12);
  // Splitting rows that all agree gains nothing.
  t.ok(Math.abs(splitGain(2, 1, 2, 1, 0, 0)) < 1e-12);
});

t.test('a leaf value is the L2-damped Newton step', async (t) => {
  t.equal(leafValue(-3, 2, 1), 1);
  t.equal(leafValue(4, 1, 0), -4);
});

t.test('the best split scans bins left to right and picks the highest gain', async (t) => {
  // One feature, 4 bins: [g,h] per bin. Best cut is after bin 1 (negatives left, positives right).
  const maxBins = 4;
  const hist = Float64Array.of(-2, 1, -3, 1, 2, 1, 3, 1);
  const best = candidate();
  findBestSplit(hist, 0, Int32Array.of(0), Int32Array.of(4), maxBins, 0, 4, 1, 0, 0, best);
  t.equal(best.feature, 0);
  t.equal(best.bin, 1);
  t.equal(best.gl, -5);
  t.equal(best.hl, 2);
  t.ok(Math.abs(best.gain - splitGain(-5, 2, 5, 2, 1, 0)) < 1e-12);
});

t.test('the best split respects min child weight and reports no split when nothing gains', async (t) => {
  const hist = Float64Array.of(-2, 1, -3, 1, 2, 1, 3, 1);
  const best = candidate();
  findBestSplit(hist, 0, Int32Array.of(0), Int32Array.of(4), 4, 0, 4, 1, 0, 2.5, best);
  t.equal(best.gain, Number.NEGATIVE_INFINITY, 'every cut leaves a child under 2.5 hessian');
  const flat = Float64Array.of(1, 1, 1, 1, 1, 1, 1, 1);
  findBestSplit(flat, 0, Int32Array.of(0), Int32Array.of(4), 4, 4, 4, 0, 0, 0, best);
  t.equal(best.gain, Number.NEGATIVE_INFINITY, 'identical bins: no gain');
});

t.test('ties keep the first feature found, and only listed features are scanned', async (t) => {
  // Two identical features.
  const maxBins = 2;
  const hist = Float64Array.of(-1, 1, 1, 1, -1, 1, 1, 1);
  const best = candidate();
  findBestSplit(hist, 0, Int32Array.of(0, 1), Int32Array.of(2, 2), maxBins, 0, 2, 1, 0, 0, best);
  t.equal(best.feature, 0);
  findBestSplit(hist, 0, Int32Array.of(1), Int32Array.of(2, 2), maxBins, 0, 2, 1, 0, 0, best);
  t.equal(best.feature, 1);
});
