import t from 'tap';
import {
  featureImportance,
  leafIndex,
  predictProba,
  predictRaw,
} from '../../../training/src/gbdt/gbdt-model.js';
import { resolveGbdtParams } from '../../../training/src/gbdt/gbdt-params.js';
import { meanLogLoss } from '../../../training/src/gbdt/log-loss.js';
import { syntheticBinaryData } from '../../../training/src/gbdt/synthetic-data.js';
import { trainGbdt } from '../../../training/src/gbdt/train-gbdt.js';

const EXACT = { lambdaL2: 0, minChildWeight: 0, learningRate: 1, earlyStoppingRounds: 0 };

t.test('a stump on a separable feature finds the known optimal split and Newton leaf values', async (t) => {
  // y = 1 exactly when x0 > 4; x1 is noise. Base rate 0.5 -> base score 0, every g = +-0.5, h = 0.25,
  // so the optimal leaves are -(4 * 0.5) / (4 * 0.25) = -2 and +2.
  const x0 = [1, 2, 3, 4, 6, 7, 8, 9];
  const x1 = [5, 1, 4, 2, 3, 5, 1, 2];
  const x = new Float32Array(16);
  x0.forEach((v, i) => {
    x[2 * i] = v;
    x[2 * i + 1] = x1[i]!;
  });
  const y = Uint8Array.from(x0, (v) => (v > 4 ? 1 : 0));
  const m = trainGbdt(x, y, 8, 2, { ...EXACT, nTrees: 1, maxDepth: 1 });
  const tree = m.trees[0]!;
  t.equal(m.baseScore, 0);
  t.equal(tree.nodeCount, 3);
  t.equal(tree.feature[0], 0, 'splits on x0');
  t.equal(tree.threshold[0], 4, 'at the last value of the negatives');
  t.equal(tree.value[tree.left[0]!], -2);
  t.equal(tree.value[tree.right[0]!], 2);
  t.ok(
    Math.abs(tree.gain[0]! - (0.5 * (4 + 4 - 0)) / 1) < 1e-9,
    'gain = 0.5 * (GL^2/HL + GR^2/HR - G^2/H) = 4',
  );
});

t.test('a depth-2 tree finds a known interaction: y = (x0 > 5) and (x1 > 5)', async (t) => {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const a of [1, 3, 7, 9]) {
    for (const b of [2, 4, 6, 8]) {
      xs.push(a, b);
      ys.push(a > 5 && b > 5 ? 1 : 0);
    }
  }
  const m = trainGbdt(Float32Array.from(xs), Uint8Array.from(ys), 16, 2, {
    ...EXACT,
    nTrees: 1,
    maxDepth: 2,
    maxLeaves: 3,
  });
  const tree = m.trees[0]!;
  t.equal(tree.nodeCount, 5, 'three leaves');
  t.equal(tree.feature[0], 0, 'x0 and x1 gain the same at the root: the first feature wins');
  t.equal(tree.threshold[0], 3);
  const right = tree.right[0]!;
  t.equal(tree.feature[right], 1, 'then x1 on the x0 > 5 side');
  t.equal(tree.threshold[right], 4);
  t.equal(tree.feature[tree.left[0]!], -1, 'the x0 <= 5 side is pure and stays a leaf');
  const p = predictProba(m, Float32Array.from(xs), 16);
  for (let r = 0; r < 16; r++) t.equal(p[r]! > 0.5, ys[r] === 1, `row ${r} on the right side of 0.5`);
});

t.test('training loss decreases monotonically round after round', async (t) => {
  const d = syntheticBinaryData(4_000, 8, 1);
  const m = trainGbdt(d.x, d.y, d.rows, d.cols, {
    nTrees: 40,
    maxDepth: 4,
    learningRate: 0.3,
    earlyStoppingRounds: 0,
  });
  const h = m.history.train;
  t.equal(h.length, 40);
  const rises = h.filter((v, i) => i > 0 && v >= h[i - 1]!);
  t.same(rises, [], 'no round raised the training loss');
});

t.test('the model generalises: held-out log loss well below the base rate loss', async (t) => {
  const train = syntheticBinaryData(8_000, 10, 2);
  const test = syntheticBinaryData(4_000, 10, 3);
  const m = trainGbdt(train.x, train.y, train.rows, train.cols, {
    nTrees: 60,
    maxDepth: 4,
    earlyStoppingRounds: 0,
  });
  const p = predictProba(m, test.x, test.rows);
  let pos = 0;
  for (const v of test.y) pos += v;
  const base = pos / test.rows;
  const baseLoss = meanLogLoss(new Float64Array(test.rows).fill(base), test.y);
  const loss = meanLogLoss(p, test.y);
  t.ok(loss < baseLoss * 0.9, `log loss ${loss.toFixed(4)} vs base rate ${baseLoss.toFixed(4)}`);
  const imp = featureImportance(m);
  const signal = imp[0]! + imp[1]! + imp[2]! + imp[3]! + imp[4]!;
  const noise = imp.reduce((a, b) => a + b, 0) - signal;
  t.ok(signal > 3 * noise, 'importance concentrates on the signal columns');
});

t.test('early stopping stops when validation loss stops improving and keeps the best round', async (t) => {
  const train = syntheticBinaryData(600, 6, 5);
  // Validation labels are flipped: every round that fits the training data hurts them.
  const v = syntheticBinaryData(600, 6, 6);
  const flipped = Uint8Array.from(v.y, (b) => 1 - b);
  const m = trainGbdt(
    train.x,
    train.y,
    train.rows,
    train.cols,
    { nTrees: 200, maxDepth: 5, learningRate: 0.3, earlyStoppingRounds: 5 },
    { valid: { x: v.x, y: flipped, rows: v.rows } },
  );
  t.ok(m.roundsTrained < 200, `stopped after ${m.roundsTrained} rounds`);
  t.equal(m.roundsTrained - m.trees.length, 5, 'kept the best round, dropped the 5 that did not improve');
  const best = Math.min(...m.history.valid);
  t.equal(m.history.valid.at(-1), best, 'the kept model ends on the best validation loss');
});

t.test(
  'row and feature subsampling are seeded: same seed, same trees; another seed, other trees',
  async (t) => {
    const d = syntheticBinaryData(3_000, 10, 7);
    const params = { nTrees: 15, maxDepth: 4, rowSubsample: 0.7, colSubsample: 0.6, earlyStoppingRounds: 0 };
    const a = trainGbdt(d.x, d.y, d.rows, d.cols, { ...params, seed: 11 });
    const b = trainGbdt(d.x, d.y, d.rows, d.cols, { ...params, seed: 11 });
    const c = trainGbdt(d.x, d.y, d.rows, d.cols, { ...params, seed: 12 });
    const same = (u: Float64Array, v: Float64Array): boolean =>
      u.length === v.length && u.every((x, i) => x === v[i]);
    t.ok(same(predictRaw(a, d.x, d.rows), predictRaw(b, d.x, d.rows)), 'same seed: identical scores');
    for (let i = 0; i < a.trees.length; i++) {
      t.same(a.trees[i]!.feature, b.trees[i]!.feature);
      t.same(a.trees[i]!.threshold, b.trees[i]!.threshold);
      t.same(a.trees[i]!.value, b.trees[i]!.value);
    }
    t.notOk(same(predictRaw(a, d.x, d.rows), predictRaw(c, d.x, d.rows)), 'another seed: other scores');
    // With colSubsample 0.6 of 10 features, each tree splits on at most 6 distinct features.
    for (const tree of a.trees) {
      const used = new Set(Array.from(tree.feature).filter((f) => f >= 0));
      t.ok(used.size <= 6);
    }
  },
);

t.test('trees respect the depth and leaf limits', async (t) => {
  const d = syntheticBinaryData(3_000, 8, 8);
  const m = trainGbdt(d.x, d.y, d.rows, d.cols, {
    nTrees: 5,
    maxDepth: 3,
    maxLeaves: 6,
    earlyStoppingRounds: 0,
  });
  for (const tree of m.trees) {
    let leaves = 0;
    const depth = (n: number): number =>
      tree.feature[n]! < 0 ? 0 : 1 + Math.max(depth(tree.left[n]!), depth(tree.right[n]!));
    for (let n = 0; n < tree.nodeCount; n++) if (tree.feature[n]! < 0) leaves++;
    t.ok(leaves <= 6, `${leaves} leaves`);
    t.ok(depth(0) <= 3, `depth ${depth(0)}`);
  }
});

t.test('min child weight stops splits that would leave a light child', async (t) => {
  const d = syntheticBinaryData(400, 5, 9);
  const m = trainGbdt(d.x, d.y, d.rows, d.cols, {
    nTrees: 3,
    maxDepth: 6,
    minChildWeight: 30,
    earlyStoppingRounds: 0,
  });
  const light = m.trees.flatMap((tree) => Array.from(tree.cover.subarray(1)).filter((c) => c < 30));
  t.same(light, []);
  t.ok(m.trees[0]!.nodeCount > 1, 'it still splits');
});

t.test('predictions route rows by x <= threshold, as the binned trainer did', async (t) => {
  const d = syntheticBinaryData(2_000, 6, 10);
  const m = trainGbdt(d.x, d.y, d.rows, d.cols, {
    nTrees: 1,
    maxDepth: 4,
    learningRate: 1,
    earlyStoppingRounds: 0,
  });
  const tree = m.trees[0]!;
  const raw = predictRaw(m, d.x, d.rows);
  let mismatches = 0;
  for (let r = 0; r < d.rows; r++) {
    if (raw[r] !== m.baseScore + tree.value[leafIndex(tree, d.x, r * d.cols)]!) mismatches++;
  }
  t.equal(mismatches, 0);
  t.equal(m.history.train.length, 1);
});

t.test('invalid parameters and inputs are refused with the field named', async (t) => {
  for (const [field, bad] of [
    ['maxDepth', { maxDepth: 0 }],
    ['learningRate', { learningRate: 2 }],
    ['maxBins', { maxBins: 300 }],
    ['rowSubsample', { rowSubsample: 0 }],
  ] as const) {
    t.throws(() => resolveGbdtParams(bad), {
      code: 'ATP_ERR_GBDT_PARAMS',
      message: new RegExp(`^${field}:`),
    });
  }
  t.throws(() => trainGbdt(new Float32Array(4), Uint8Array.of(0, 2), 2, 2), { code: 'ATP_ERR_GBDT_PARAMS' });
  t.throws(() => trainGbdt(new Float32Array(3), Uint8Array.of(0, 1), 2, 2), {
    message: /^x: holds 3 values/,
  });
});
