import t from 'tap';
import { binMatrix, binOf, computeFeatureBins } from '../../../training/src/gbdt/feature-bins.js';
import { syntheticBinaryData } from '../../../training/src/gbdt/synthetic-data.js';

t.test('a feature with few distinct values gets one bin per value', async (t) => {
  const x = Float32Array.of(3, 1, 2, 1, 3, 3);
  const bins = computeFeatureBins(x, 6, 1, 255, 1_000);
  t.same(Array.from(bins.edges[0]!), [1, 2]);
  t.equal(bins.binCounts[0], 3);
  t.same(Array.from(binMatrix(x, 6, 1, bins)), [2, 0, 1, 0, 2, 2]);
});

t.test('a constant feature has a single bin', async (t) => {
  const bins = computeFeatureBins(Float32Array.of(7, 7, 7), 3, 1, 255, 1_000);
  t.equal(bins.binCounts[0], 1);
});

t.test('quantile edges are float32 data values and balance the bins', async (t) => {
  const rows = 10_000;
  const x = new Float32Array(rows);
  for (let i = 0; i < rows; i++) x[i] = Math.fround(Math.sqrt(i) * 1.37);
  const bins = computeFeatureBins(x, rows, 1, 16, rows);
  const edges = bins.edges[0]!;
  t.equal(edges.length, 15);
  const seen = new Set(Array.from(x));
  for (const e of edges) t.ok(seen.has(e), `edge ${e} is a data value`);
  const counts = new Array<number>(16).fill(0);
  for (const b of binMatrix(x, rows, 1, bins)) counts[b]!++;
  for (const c of counts) t.ok(c > rows / 16 - 2 && c < rows / 16 + 2, `bin of ${c} rows`);
});

t.test('a heavy value keeps a bin to itself', async (t) => {
  const rows = 1_000;
  const x = new Float32Array(rows);
  for (let i = 700; i < rows; i++) x[i] = i;
  const bins = computeFeatureBins(x, rows, 1, 10, rows);
  t.equal(bins.edges[0]![0], 0, 'zero (70% of rows) ends the first bin');
  t.ok(bins.binCounts[0]! <= 10);
});

t.test('bin <= b holds exactly when x <= edges[b], for every value and every edge', async (t) => {
  const d = syntheticBinaryData(3_000, 5, 4);
  const bins = computeFeatureBins(d.x, d.rows, d.cols, 32, 1_000);
  const binned = binMatrix(d.x, d.rows, d.cols, bins);
  let checked = 0;
  for (let f = 0; f < d.cols; f++) {
    const e = bins.edges[f]!;
    for (let r = 0; r < d.rows; r++) {
      const v = d.x[r * d.cols + f]!;
      const b = binned[r * d.cols + f]!;
      for (let k = 0; k < e.length; k++) {
        if (b <= k !== v <= e[k]!) t.fail(`feature ${f} row ${r} value ${v} bin ${b} edge ${k}`);
        checked++;
      }
    }
  }
  t.ok(checked > 10_000);
  t.equal(binOf(Float32Array.of(1, 2), Number.NaN), 2, 'NaN goes to the last bin (right), as in ONNX');
});
