import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FEATURE_COUNT } from '../../../features/src/feature-vector.js';
import { createOnnxRanker } from '../../../sidecar/src/adapters/onnx/onnx-ranker.js';
import { type DisposableRanker, ModelRegistry } from '../../../sidecar/src/model/model-registry.js';
import { copyBundle, corruptModelFile, editManifest, testBundle } from '../../helpers/model-bundle.js';

function registry(counter?: { created: number; disposed: number }): ModelRegistry {
  return new ModelRegistry({
    loadRanker: async (b) => {
      const r = await createOnnxRanker(b);
      if (counter === undefined) return r;
      counter.created++;
      return {
        ...r,
        version: r.version,
        scoreSync: r.scoreSync,
        score: r.score,
        dispose: async () => {
          counter.disposed++;
          await r.dispose();
        },
      } as DisposableRanker;
    },
  });
}

t.test('a bundle is verified, loaded into a real session, warmed and activated', async (t) => {
  const reg = registry();
  t.teardown(() => reg.stop());
  t.equal(reg.active, null);
  const m = await reg.loadAndActivate(testBundle());
  t.equal(reg.active?.version, 'gbdt-test-1');
  const p = await m.ranker.score(new Float32Array(3 * FEATURE_COUNT), 3);
  t.equal(p.length, 3);
  t.ok(
    p.every((v) => v > 0 && v < 1),
    'probabilities',
  );
});

t.test('bundles are refused with a coded error naming what is wrong', async (t) => {
  const reg = registry();
  t.teardown(() => reg.stop());
  const good = testBundle();
  const cases: [string, string, string | undefined][] = [
    [copyBundle(good, 'corrupt', corruptModelFile), 'ATP_ERR_MODEL_CHECKSUM_MISMATCH', 'model_sha256'],
    [
      copyBundle(good, 'schema', (c) =>
        editManifest(c, (m) => {
          m.feature_schema_hash = '0000000000000000';
        }),
      ),
      'ATP_ERR_MODEL_SCHEMA_MISMATCH',
      'feature_schema_hash',
    ],
    [
      copyBundle(good, 'names', (c) =>
        editManifest(c, (m) => {
          (m.feature_names as string[]).reverse();
        }),
      ),
      'ATP_ERR_MODEL_SCHEMA_MISMATCH',
      'feature_names',
    ],
    [
      copyBundle(good, 'bad-manifest', (c) =>
        editManifest(c, (m) => {
          m.thresholds = { cost_ratio: 'x' };
        }),
      ),
      'ATP_ERR_MODEL_MANIFEST_INVALID',
      'thresholds.cost_ratio',
    ],
    [join(good, 'nope'), 'ATP_ERR_MODEL_NOT_FOUND', undefined],
  ];
  for (const [dir, code, field] of cases) {
    const err = (await reg.load(dir).catch((e: unknown) => e)) as { code: string; field?: string };
    t.equal(err.code, code, `${code} for ${dir.split('/').pop()}`);
    if (field !== undefined) t.equal(err.field, field);
  }
  t.equal(reg.active, null, 'nothing refused becomes active');
});

t.test('bytes the runtime cannot load are refused even when the checksum matches', async (t) => {
  const reg = registry();
  t.teardown(() => reg.stop());
  const dir = copyBundle(testBundle(), 'garbage', (c) => {
    const garbage = Buffer.from('this is not an onnx graph');
    writeFileSync(join(c, 'model.onnx'), garbage);
    editManifest(c, (m) => {
      m.model_sha256 = createHash('sha256').update(garbage).digest('hex');
    });
  });
  const err = (await reg.load(dir).catch((e: unknown) => e)) as { code: string };
  t.equal(err.code, 'ATP_ERR_MODEL_LOAD_FAILED');
  t.ok(readFileSync(join(dir, 'model.onnx')).length > 0);
});

t.test('swapping models under traffic fails no request and disposes every old session', async (t) => {
  const counter = { created: 0, disposed: 0 };
  const reg = registry(counter);
  t.teardown(() => reg.stop());
  const a = testBundle('gbdt-a', 1);
  const b = testBundle('gbdt-b', 2);
  await reg.loadAndActivate(a);
  let running = true;
  let scored = 0;
  const failures: unknown[] = [];
  const batch = new Float32Array(8 * FEATURE_COUNT);
  const traffic = (async () => {
    while (running) {
      const m = reg.acquire();
      if (m === null) {
        failures.push('no active model');
      } else {
        // Hold the model across an await, as a request does.
        await new Promise((r) => setImmediate(r));
        await m.ranker.score(batch, 8).then(
          () => scored++,
          (e: unknown) => failures.push(e),
        );
        reg.done(m);
      }
    }
  })();
  for (let i = 0; i < 10; i++) {
    const next = i % 2 === 0 ? b : a;
    const prev = reg.active!.version;
    await reg.loadAndActivate(next);
    await reg.release(prev);
  }
  running = false;
  await traffic;
  t.same(failures, [], 'no request saw a missing or released model');
  t.ok(scored > 10, `${scored} runs during the swaps`);
  t.equal(reg.liveSessions, 1, 'only the active session is alive');
  t.equal(counter.created - counter.disposed, 1, 'every other session was disposed');
});
