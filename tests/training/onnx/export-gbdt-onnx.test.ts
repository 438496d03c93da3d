import * as ort from 'onnxruntime-node';
import t from 'tap';
import { MODEL_INPUT_NAME, MODEL_OUTPUT_NAME } from '../../../proto/v1/model-manifest.js';
import { predictProba } from '../../../training/src/gbdt/gbdt-model.js';
import { syntheticBinaryData } from '../../../training/src/gbdt/synthetic-data.js';
import { trainGbdt } from '../../../training/src/gbdt/train-gbdt.js';
import { exportGbdtToOnnx } from '../../../training/src/onnx/export-gbdt-onnx.js';

const PARITY_ROWS = 10_000;
const PARITY_TOLERANCE = 1e-5;

async function runOnnx(bytes: Uint8Array, x: Float32Array, rows: number, cols: number): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ [MODEL_INPUT_NAME]: new ort.Tensor('float32', x, [rows, cols]) });
    return out[MODEL_OUTPUT_NAME]!;
  } finally {
    await session.release();
  }
}

t.test('onnxruntime and the TypeScript model agree within 1e-5 on 10K rows', async (t) => {
  const cols = 23;
  const train = syntheticBinaryData(20_000, cols, 1);
  const model = trainGbdt(train.x, train.y, train.rows, cols, {
    nTrees: 60,
    maxDepth: 6,
    rowSubsample: 0.8,
    colSubsample: 0.8,
    earlyStoppingRounds: 0,
  });
  // Half the rows are training rows (values sit exactly on bin edges: the off-by-one trap), half unseen.
  const fresh = syntheticBinaryData(PARITY_ROWS / 2, cols, 2);
  const x = new Float32Array(PARITY_ROWS * cols);
  x.set(train.x.subarray(0, (PARITY_ROWS / 2) * cols));
  x.set(fresh.x, (PARITY_ROWS / 2) * cols);
  const bytes = exportGbdtToOnnx(model, cols);
  const out = await runOnnx(bytes, x, PARITY_ROWS, cols);
  t.same(out.dims, [PARITY_ROWS, 1]);
  t.equal(out.type, 'float32');
  const ts = predictProba(model, x, PARITY_ROWS);
  const onnx = out.data as Float32Array;
  let maxDiff = 0;
  for (let r = 0; r < PARITY_ROWS; r++) maxDiff = Math.max(maxDiff, Math.abs(onnx[r]! - ts[r]!));
  t.ok(maxDiff <= PARITY_TOLERANCE, `max |onnx - ts| = ${maxDiff.toExponential(2)}`);
});

t.test('values exactly on a split threshold go left in both', async (t) => {
  const x = Float32Array.of(1, 2, 3, 4, 6, 7, 8, 9);
  const y = Uint8Array.of(0, 0, 0, 0, 1, 1, 1, 1);
  const model = trainGbdt(x, y, 8, 1, {
    nTrees: 1,
    maxDepth: 1,
    learningRate: 1,
    lambdaL2: 0,
    minChildWeight: 0,
    earlyStoppingRounds: 0,
  });
  t.equal(model.trees[0]!.threshold[0], 4);
  const probe = Float32Array.of(4, Math.fround(4.000001), 3.999999);
  const onnx = (await runOnnx(exportGbdtToOnnx(model, 1), probe, 3, 1)).data as Float32Array;
  const ts = predictProba(model, probe, 3);
  t.ok(onnx[0]! < 0.5 && ts[0]! < 0.5, 'x == threshold: left (negative) leaf');
  t.ok(onnx[1]! > 0.5 && ts[1]! > 0.5, 'next float32 above: right leaf');
  for (let i = 0; i < 3; i++) t.ok(Math.abs(onnx[i]! - ts[i]!) < PARITY_TOLERANCE);
});

t.test('the graph has one float32 input "features" [N, F] and one output "p_raw" [N, 1]', async (t) => {
  const d = syntheticBinaryData(500, 5, 3);
  const model = trainGbdt(d.x, d.y, d.rows, d.cols, { nTrees: 3, maxDepth: 2, earlyStoppingRounds: 0 });
  const session = await ort.InferenceSession.create(exportGbdtToOnnx(model, 5));
  t.same(session.inputNames, [MODEL_INPUT_NAME]);
  t.same(session.outputNames, [MODEL_OUTPUT_NAME]);
  const input = session.inputMetadata[0]!;
  t.ok(input.isTensor && input.type === 'float32');
  t.same(input.isTensor ? input.shape : [], ['N', 5]);
  const out = await session.run({
    [MODEL_INPUT_NAME]: new ort.Tensor('float32', d.x.subarray(0, 32 * 5), [32, 5]),
  });
  t.same(out[MODEL_OUTPUT_NAME]!.dims, [32, 1]);
  await session.release();
});

t.test('a model whose trees are single leaves exports and predicts the base rate', async (t) => {
  const x = Float32Array.of(1, 1, 1, 1);
  const y = Uint8Array.of(1, 1, 1, 0);
  const model = trainGbdt(x, y, 4, 1, { nTrees: 2, earlyStoppingRounds: 0 });
  t.equal(model.trees[0]!.nodeCount, 1);
  const onnx = (await runOnnx(exportGbdtToOnnx(model, 1), x, 4, 1)).data as Float32Array;
  const ts = predictProba(model, x, 4);
  for (let i = 0; i < 4; i++) t.ok(Math.abs(onnx[i]! - ts[i]!) < PARITY_TOLERANCE);
  t.ok(Math.abs(ts[0]! - 0.75) < 0.01);
});

t.test('export is deterministic and refuses a wrong input width', async (t) => {
  const d = syntheticBinaryData(1_000, 4, 4);
  const model = trainGbdt(d.x, d.y, d.rows, d.cols, { nTrees: 5, maxDepth: 3, earlyStoppingRounds: 0 });
  t.ok(Buffer.from(exportGbdtToOnnx(model, 4)).equals(Buffer.from(exportGbdtToOnnx(model, 4))), 'same bytes');
  t.throws(() => exportGbdtToOnnx(model, 5), /has 4 features/);
});
