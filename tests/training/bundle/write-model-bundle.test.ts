import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { FEATURE_COUNT, FEATURE_NAMES, featureSchemaHash } from '../../../features/src/feature-vector.js';
import { MANIFEST_FILE, MODEL_FILE, parseModelManifest } from '../../../proto/v1/model-manifest.js';
import { driftBaseline } from '../../../training/src/bundle/drift-baseline.js';
import { syntheticFeatureRows, writeSyntheticBundle } from '../../../training/src/bundle/synthetic-bundle.js';
import { writeCurrentPointer, writeModelBundle } from '../../../training/src/bundle/write-model-bundle.js';
import { trainGbdt } from '../../../training/src/gbdt/train-gbdt.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'atp-bundle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test(
  'a written bundle parses, its sha256 matches model.onnx and its schema hash is the sidecar one',
  async (t) => {
    const dir = tempDir(t);
    const { x, y } = syntheticFeatureRows(2_000, 1);
    const model = trainGbdt(x, y, 2_000, FEATURE_COUNT, { nTrees: 5, maxDepth: 3, earlyStoppingRounds: 0 });
    const written = writeModelBundle(join(dir, 'v1'), {
      version: 'gbdt-test-v1',
      model,
      calibration: { method: 'platt', a: 1, b: 0 },
      driftBaseline: driftBaseline(x, 2_000, FEATURE_NAMES),
      dataWindow: { seed: 1 },
    });
    const raw = JSON.parse(readFileSync(join(dir, 'v1', MANIFEST_FILE), 'utf8'));
    const manifest = parseModelManifest(raw);
    t.equal(manifest.version, 'gbdt-test-v1');
    t.equal(manifest.modelFile, MODEL_FILE);
    const onnx = readFileSync(join(dir, 'v1', MODEL_FILE));
    t.equal(manifest.modelSha256, createHash('sha256').update(onnx).digest('hex'));
    t.equal(manifest.featureSchemaHash, featureSchemaHash());
    t.same(manifest.featureNames, [...FEATURE_NAMES]);
    t.same(Object.keys(manifest.driftBaseline), [...FEATURE_NAMES]);
    t.same(written.manifest, manifest);
    const session = await ort.InferenceSession.create(onnx);
    t.same(session.inputNames, ['features']);
    await session.release();
  },
);

t.test('the synthetic bundle helper writes the same bytes for the same options', async (t) => {
  const dir = tempDir(t);
  const a = writeSyntheticBundle(join(dir, 'a'), { trees: 4 });
  const b = writeSyntheticBundle(join(dir, 'b'), { trees: 4 });
  t.ok(a.manifestBytes.equals(b.manifestBytes), 'same manifest bytes');
  t.ok(Buffer.from(a.modelBytes).equals(Buffer.from(b.modelBytes)), 'same model bytes');
  t.equal(a.manifest.featureSchemaHash, featureSchemaHash());
});

t.test('a synthetic bundle says yes to ample stock and no to a stale node with none', async (t) => {
  const dir = tempDir(t);
  const w = writeSyntheticBundle(dir);
  const session = await ort.InferenceSession.create(w.modelBytes);
  const { x } = syntheticFeatureRows(400, 9);
  const out = (await session.run({ features: new ort.Tensor('float32', x, [400, FEATURE_COUNT]) })).p_raw!
    .data as Float32Array;
  const margin = FEATURE_NAMES.indexOf('margin');
  const stale = FEATURE_NAMES.indexOf('stale');
  let good = 0;
  let goodN = 0;
  let bad = 0;
  let badN = 0;
  for (let r = 0; r < 400; r++) {
    const m = x[r * FEATURE_COUNT + margin]!;
    const s = x[r * FEATURE_COUNT + stale]!;
    if (m >= 5 && s === 0) {
      good += out[r]!;
      goodN++;
    } else if (m < 0) {
      bad += out[r]!;
      badN++;
    }
  }
  t.ok(good / goodN > 0.8, `mean p with ample stock ${(good / goodN).toFixed(3)}`);
  t.ok(bad / badN < 0.4, `mean p with negative margin ${(bad / badN).toFixed(3)}`);
  await session.release();
});

t.test('a manifest that would not parse is never written', async (t) => {
  const dir = tempDir(t);
  const { x, y } = syntheticFeatureRows(500, 2);
  const model = trainGbdt(x, y, 500, FEATURE_COUNT, { nTrees: 1, maxDepth: 2, earlyStoppingRounds: 0 });
  t.throws(() =>
    writeModelBundle(join(dir, 'bad'), {
      version: 'bad',
      model,
      calibration: { method: 'isotonic', x: [0, 1], y: [0, 2] },
    }),
  );
  t.throws(() => readFileSync(join(dir, 'bad', MANIFEST_FILE)));
});

t.test('CURRENT names the default bundle', async (t) => {
  const dir = tempDir(t);
  writeCurrentPointer(dir, 'gbdt-s1-abc');
  t.equal(readFileSync(join(dir, 'CURRENT'), 'utf8'), 'gbdt-s1-abc\n');
});

t.test('drift baselines are quantile histograms whose shares sum to 1', async (t) => {
  const { x } = syntheticFeatureRows(5_000, 3);
  const d = driftBaseline(x, 5_000, FEATURE_NAMES);
  for (const name of FEATURE_NAMES) {
    const h = d[name]!;
    t.equal(h.edges.length, h.shares.length + 1, name);
    t.ok(Math.abs(h.shares.reduce((a, b) => a + b, 0) - 1) < 1e-5, `${name} shares sum to 1`);
    t.ok(
      h.edges.every((e, i) => i === 0 || e > h.edges[i - 1]!),
      `${name} edges ascend`,
    );
  }
  t.equal(d.stream_lag_s!.shares.length, 1, 'a constant feature has one bin');
  t.ok(d.on_hand!.shares.length >= 8, 'a spread feature has about ten');
});
