/**
 * DESIGN.md §6 "model missing or failing": a corrupt model file is refused
 * before use (sha256), the sidecar still becomes ready and answers with the
 * conservative rule scorer, every answer flagged `degraded: model`; a bad
 * bundle pushed at runtime leaves the good model in place.
 */
import t from 'tap';
import { copyBundle, corruptModelFile, testBundle } from '../helpers/model-bundle.js';
import { checkout, worldSidecar } from '../helpers/sidecar-world.js';

t.test(
  'a corrupt model file at start: rules answer, flagged `model`, readiness still turns true',
  async (t) => {
    const sc = worldSidecar({ modelDir: copyBundle(testBundle(), 'corrupt', corruptModelFile) });
    const { httpPort } = await sc.start();
    t.teardown(() => sc.stop());
    t.equal(sc.models.lastError?.code, 'ATP_ERR_MODEL_CHECKSUM_MISMATCH');
    t.equal((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status, 200, 'degraded but serving');
    const d = await sc.engine.check(checkout('IN-STOCK', 1));
    t.same(d.degradations, ['model']);
    t.equal(d.modelVersion, 'rules-only');
    t.equal(d.decision, 'allow', 'the rule scorer still promises well-stocked fresh nodes');
    const low = await sc.engine.check(checkout('LOW', 1, 'r-2'));
    t.same(low.items[0]!.reasons, ['SAFETY_BUFFER'], 'and keeps its safety buffer: the safe answer');
  },
);

t.test('without any model configured, rules-only answers are not flagged', async (t) => {
  const sc = worldSidecar();
  const d = await sc.engine.check(checkout('IN-STOCK', 1));
  t.same(d.degradations, []);
});

t.test('a corrupt bundle pushed under traffic is refused and the active model keeps answering', async (t) => {
  const sc = worldSidecar();
  await sc.models.loadAndActivate(testBundle());
  const bad = copyBundle(testBundle(), 'corrupt-2', corruptModelFile);
  await t.rejects(sc.models.loadAndActivate(bad), { code: 'ATP_ERR_MODEL_CHECKSUM_MISMATCH' });
  const d = await sc.engine.check(checkout('IN-STOCK', 1));
  t.equal(d.modelVersion, 'gbdt-test-1');
  t.same(d.degradations, []);
});
