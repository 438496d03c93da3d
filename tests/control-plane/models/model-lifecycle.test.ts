/**
 * Model bundles in the control plane: a push is verified (manifest,
 * signature by a trusted key, sha256) before it is stored; versions are
 * immutable; promote is full or staged per region by percentage; rollback
 * drops a staged rollout, else returns to the previous model.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { generateSigningKeys } from '../../../proto/v1/bundle-signature.js';
import {
  pushBody,
  signDir,
  startControlWorld,
  TOKENS,
  tempDir,
  writeFakeBundle,
} from '../helpers/control-world.js';

t.test('pushes are verified before they are stored', async (t) => {
  const w = await startControlWorld(t);
  const dir = tempDir(t);
  const stranger = generateSigningKeys();
  const unsigned = writeFakeBundle(join(dir, 'unsigned'), 'u1', null);
  const untrusted = writeFakeBundle(join(dir, 'untrusted'), 'u2', stranger);
  const tamperedModel = writeFakeBundle(join(dir, 'tm'), 'u3', w.keys);
  writeFileSync(join(tamperedModel, 'model.onnx'), Buffer.from('evil'));
  const tamperedManifest = writeFakeBundle(join(dir, 'tmf'), 'u4', w.keys);
  const m = JSON.parse(readFileSync(join(tamperedManifest, 'manifest.json'), 'utf8'));
  m.thresholds.checkout.cold = 0.01;
  writeFileSync(join(tamperedManifest, 'manifest.json'), JSON.stringify(m));
  const badVersion = writeFakeBundle(join(dir, 'bv'), '../escape', w.keys);
  const cases: [string, string, string][] = [
    [unsigned, 'ATP_ERR_MODEL_UNSIGNED', 'signature'],
    [untrusted, 'ATP_ERR_MODEL_SIGNATURE_INVALID', 'signature'],
    [tamperedModel, 'ATP_ERR_MODEL_CHECKSUM_MISMATCH', 'model'],
    [tamperedManifest, 'ATP_ERR_MODEL_SIGNATURE_INVALID', 'signature'],
    [badVersion, 'ATP_ERR_MODEL_MANIFEST_INVALID', 'manifest.version'],
  ];
  for (const [bundle, code, field] of cases) {
    const r = await w.post('/v1/models/push', pushBody(bundle), TOKENS.admin);
    t.equal(r.status, 422, bundle.split('/').pop() ?? '');
    t.same(
      [(r.json.error as { code: string }).code, (r.json.error as { field: string }).field],
      [code, field],
    );
  }
  t.same(((await w.get('/v1/models', TOKENS.viewer)).json.models as unknown[]).length, 0, 'nothing stored');
  const audit = (await w.get('/v1/audit?action=model.push&limit=10', TOKENS.viewer)).json.entries as {
    outcome: string;
    code: string;
  }[];
  t.same(
    audit.map((a) => a.code).sort(),
    cases.map((c) => c[1]).sort(),
    'each refusal audited with its code',
  );
});

t.test('a version is immutable: the same bytes again is a no-op, other bytes a conflict', async (t) => {
  const w = await startControlWorld(t);
  const dir = tempDir(t);
  const a = writeFakeBundle(join(dir, 'a'), 'm1', w.keys);
  t.equal((await w.post('/v1/models/push', pushBody(a), TOKENS.admin)).status, 200);
  const again = await w.post('/v1/models/push', pushBody(a), TOKENS.admin);
  t.equal(again.status, 200);
  const b = writeFakeBundle(join(dir, 'b'), 'm1', w.keys);
  const other = await w.post('/v1/models/push', pushBody(b), TOKENS.admin);
  t.equal(other.status, 409);
  t.match((other.json.error as { message: string }).message, /new version/);
  const files = await fetch(`${w.url}/v1/models/m1/model.onnx`, {
    headers: { authorization: `Bearer ${TOKENS.viewer}` },
  });
  t.ok(
    Buffer.from(await files.arrayBuffer()).equals(readFileSync(join(a, 'model.onnx'))),
    'the first bytes are served',
  );
  const sig = await fetch(`${w.url}/v1/models/m1/manifest.sig`, {
    headers: { authorization: `Bearer ${TOKENS.viewer}` },
  });
  t.equal((await sig.text()).trim(), readFileSync(join(a, 'manifest.sig'), 'utf8').trim());
  const nofile = await w.get('/v1/models/m1/other.bin', TOKENS.viewer);
  t.equal(nofile.status, 404);
});

t.test('promote, stage per region, rollback', async (t) => {
  const w = await startControlWorld(t);
  const dir = tempDir(t);
  for (const v of ['m1', 'm2', 'm3']) {
    const b = writeFakeBundle(join(dir, v), v, w.keys);
    signDir(b, w.keys);
    t.equal((await w.post('/v1/models/push', pushBody(b), TOKENS.admin)).status, 200);
  }
  const model = async () => (await w.get('/v1/snapshot', TOKENS.viewer)).json.model;
  const op = (path: string, body: Record<string, unknown>) =>
    w.post(path, { reason: 'test', ...body }, TOKENS.operator);

  t.same(await model(), { active: 'rules-only' });
  await op('/v1/models/promote', { version: 'm1' });
  t.same(await model(), { active: 'm1' });
  await op('/v1/models/promote', { version: 'm2' });
  t.same(await model(), { active: 'm2', previous: 'm1' });

  await op('/v1/models/promote', { version: 'm3', region: 'eu-west', pct: 10 });
  await op('/v1/models/promote', { version: 'm3', region: 'us-east', pct: 50 });
  t.same(await model(), {
    active: 'm2',
    previous: 'm1',
    staged: { version: 'm3', rollout_pct_by_region: { 'eu-west': 10, 'us-east': 50 } },
  });
  const other = await op('/v1/models/promote', { version: 'm1', region: 'eu-west', pct: 5 });
  t.equal(other.status, 409, 'one staged model at a time');
  t.match((other.json.error as { message: string }).message, /m3 is being staged/);

  const rb1 = await op('/v1/models/rollback', {});
  t.equal(rb1.status, 200);
  t.same(await model(), { active: 'm2', previous: 'm1' }, 'rollback drops the staged rollout first');

  await op('/v1/models/promote', { version: 'm3', region: 'eu-west', pct: 100 });
  await op('/v1/models/promote', { version: 'm3' });
  t.same(await model(), { active: 'm3', previous: 'm2' }, 'promoting the staged model finishes its rollout');

  await op('/v1/models/rollback', {});
  t.same(await model(), { active: 'm2', previous: 'm1' });
  await op('/v1/models/rollback', {});
  t.same(await model(), { active: 'm1' }, 'rollbacks walk back the promotion history');
  const none = await op('/v1/models/rollback', {});
  t.equal(none.status, 409);

  const list = (await w.get('/v1/models', TOKENS.viewer)).json.models as { version: string; state: string }[];
  t.same(
    list.map((m) => [m.version, m.state]),
    [
      ['m1', 'active'],
      ['m2', 'pushed'],
      ['m3', 'pushed'],
    ],
  );
  const same = await op('/v1/models/promote', { version: 'm1' });
  t.equal(same.json.changed, false, 'promoting the active model is a no-op');
});
