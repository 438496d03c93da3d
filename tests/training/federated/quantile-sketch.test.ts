/**
 * A region's quantile sketch keeps every row's weight but never carries a
 * value held by a single row (a planted canary), whether the feature is
 * sent exactly (few distinct values) or compressed (many).
 */
import t from 'tap';
import {
  mergeSketches,
  regionSketch,
  SKETCH_POINTS,
} from '../../../training/src/federated/quantile-sketch.js';
import { encodeAggregate } from '../../../training/src/federated/region-data.js';

const ROWS = 20_000;
const COLS = 2;
const CANARY_LOW_CARD = 424_242.5;
const CANARY_MAX = 987_654;
const x = new Float32Array(ROWS * COLS);
for (let r = 0; r < ROWS; r++) {
  x[r * COLS] = r % 3; // few distinct values: sent exactly
  x[r * COLS + 1] = r / 7; // 20k distinct values: compressed
}
x[5 * COLS] = CANARY_LOW_CARD;
x[(ROWS - 1) * COLS + 1] = CANARY_MAX; // the maximum of the continuous feature

t.test('canary values held by one row never appear in the sketch or its bytes', async (t) => {
  const s = regionSketch('eu-central', x, ROWS, COLS, ROWS);
  const { offsets, values, weights } = s.body;
  for (let f = 0; f < COLS; f++) {
    let w = 0;
    for (let i = offsets![f]!; i < offsets![f + 1]!; i++) w += weights![i]!;
    t.equal(w, ROWS, `feature ${f}: the points carry every row's weight`);
  }
  t.ok(offsets![2]! - offsets![1]! <= SKETCH_POINTS, 'the continuous feature is compressed');
  t.notOk(Array.from(values!).includes(CANARY_LOW_CARD), 'the rare exact value is folded');
  t.notOk(Array.from(values!).includes(Math.fround(CANARY_MAX)), 'the maximum is not sent');
  const bytes = Buffer.from(encodeAggregate(s));
  for (const c of [CANARY_LOW_CARD, CANARY_MAX]) {
    t.equal(bytes.indexOf(Buffer.from(Float32Array.from([c]).buffer)), -1, `${c} is not in the wire bytes`);
  }
  const bins = mergeSketches([s], COLS, 255);
  t.same(Array.from(bins.edges[0]!), [0, 1], 'the low-cardinality feature keeps its real cuts');
  t.ok(bins.edges[1]!.length > 200, `the continuous feature gets ${bins.edges[1]!.length} edges`);
});
