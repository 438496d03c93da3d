/**
 * Finding 7 (issue 16), the control plane's smaller items:
 * - `atpctl model push` read and uploaded a manifest's `model_file:
 *   ../../../../etc/passwd` before the server refused it: now it refuses
 *   before reading or sending anything (a symlink out of the folder too);
 * - route prefixes accepted NUL and markup: now only URL path characters;
 * - a promoted model whose bytes were altered in the database was activated
 *   by the control plane: now promote and download re-verify the stored
 *   bundle, refuse it, and mark it (status, model list, audit).
 */
import { symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { parseControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import { MANIFEST_FILE } from '../../../proto/v1/model-manifest.js';
import {
  fakeManifest,
  pushBody,
  signDir,
  startControlWorld,
  TOKENS,
  tempDir,
  writeFakeBundle,
} from '../helpers/control-world.js';

t.test(
  'finding 7: model push refuses a model_file outside the bundle BEFORE reading or uploading it',
  async (t) => {
    const w = await startControlWorld(t);
    const dir = tempDir(t);
    const requests: string[] = [];
    const spy = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(500).end();
    });
    await new Promise<void>((r) => spy.listen(0, '127.0.0.1', () => r()));
    t.teardown(() => spy.close());
    const spyUrl = `http://127.0.0.1:${(spy.address() as AddressInfo).port}`;

    const traversal = writeFakeBundle(join(dir, 'traversal'), 'evil-1', w.keys);
    const m = fakeManifest('evil-1', Buffer.from('x'));
    m.model_file = '../../../../etc/passwd';
    writeFileSync(join(traversal, MANIFEST_FILE), JSON.stringify(m));
    signDir(traversal, w.keys);
    const linked = writeFakeBundle(join(dir, 'linked'), 'evil-2', w.keys);
    const m2 = fakeManifest('evil-2', Buffer.from('x'));
    m2.model_file = 'weights.bin';
    writeFileSync(join(linked, MANIFEST_FILE), JSON.stringify(m2));
    symlinkSync('/etc/passwd', join(linked, 'weights.bin'));
    signDir(linked, w.keys);

    for (const [bundle, what] of [
      [traversal, /not a file name inside the bundle folder; nothing was read or uploaded/],
      [linked, /resolves outside the bundle folder/],
    ] as const) {
      const r = await w.atpctl(['--server', spyUrl, 'model', 'push', bundle, '--reason', 'x'], TOKENS.admin);
      t.equal(r.code, 1, `${bundle}: refused`);
      t.match(r.stderr, /ATP_ERR_MODEL_MANIFEST_INVALID/);
      t.match(r.stderr, what);
    }
    t.same(requests, [], 'not one byte reached a server');
    t.same(((await w.get('/v1/models', TOKENS.viewer)).json.models as unknown[]).length, 0);
  },
);

t.test(
  'finding 7: route prefixes refuse NUL, control characters, whitespace, quotes and markup',
  async (t) => {
    const w = await startControlWorld(t);
    const bad = [
      '/checkout\u0000',
      '/checkout\u0007bell',
      '/check out',
      '/<script>alert(1)</script>',
      '/checkout"onload="x',
      "/checkout'",
      '/checkout\\..',
      '/checkout\u202e',
    ];
    for (const prefix of bad) {
      const mode = await w.post('/v1/routes/mode', { prefix, mode: 'shadow', reason: 'x' }, TOKENS.operator);
      t.equal(mode.status, 400, JSON.stringify(prefix));
      t.equal((mode.json.error as { field: string }).field, 'prefix');
      const kill = await w.post(
        '/v1/kill-switches/set',
        { scope: 'route', target: prefix, reason: 'x' },
        TOKENS.operator,
      );
      t.equal((kill.json.error as { field: string }).field, 'target');
    }
    for (const prefix of [
      '/checkout',
      '/checkout/gift-cards',
      '/api/v2/cart:checkout',
      '/b%C3%BCcher',
      '/a-b_c.d~e',
    ]) {
      t.equal(
        (await w.post('/v1/routes/mode', { prefix, mode: 'shadow', reason: 'x' }, TOKENS.operator)).status,
        200,
        prefix,
      );
    }
    const snap = (await w.get('/v1/snapshot', TOKENS.viewer)).json;
    t.throws(
      () => parseControlSnapshot({ ...snap, routes: [{ prefix: '/<b>', mode: 'enforce', rollout_pct: 1 }] }),
      { code: 'ATP_ERR_INVALID_FIELD', field: 'routes[0].prefix' },
      'the snapshot contract refuses them too (what sidecars parse)',
    );
  },
);

t.test('finding 7: a model altered in the database is never activated or served; it is marked', async (t) => {
  const w = await startControlWorld(t);
  const dir = tempDir(t);
  for (const v of ['m1', 'm2']) {
    t.equal(
      (await w.post('/v1/models/push', pushBody(writeFakeBundle(join(dir, v), v, w.keys)))).status,
      200,
    );
  }
  // Someone with write access to the control plane database swaps m2's bytes after its push.
  const evil = Buffer.from('evil bytes');
  await w.cp.store.db.write((sql) => sql.run('UPDATE models SET model = ? WHERE version = ?', [evil, 'm2']));

  const promote = await w.post('/v1/models/promote', { version: 'm2', reason: 'go' }, TOKENS.operator);
  t.equal(promote.status, 422);
  t.equal((promote.json.error as { code: string }).code, 'ATP_ERR_MODEL_INTEGRITY_FAILED');
  t.match(
    (promote.json.error as { message: string }).message,
    /as stored does not verify \(ATP_ERR_MODEL_CHECKSUM_MISMATCH/,
  );
  t.same((await w.get('/v1/snapshot', TOKENS.viewer)).json.model, { active: 'rules-only' }, 'not activated');
  const staged = await w.post(
    '/v1/models/promote',
    { version: 'm2', region: 'eu-west', pct: 5, reason: 'canary' },
    TOKENS.operator,
  );
  t.equal(staged.status, 422, 'nor staged');
  const list = (await w.get('/v1/models', TOKENS.viewer)).json.models as { version: string; state: string }[];
  t.same(
    list.map((m) => [m.version, m.state]),
    [
      ['m1', 'pushed'],
      ['m2', 'integrity-failed'],
    ],
  );
  const status = (await w.get('/v1/status', TOKENS.viewer)).json;
  t.same(
    (status.model_integrity_failures as { version: string }[]).map((x) => x.version),
    ['m2'],
  );
  t.match((await w.atpctl(['status'], TOKENS.viewer)).stdout, /MODEL INTEGRITY failed .*: m2/);
  const audit = (await w.get('/v1/audit?action=model.integrity', TOKENS.viewer)).json.entries as {
    target: string;
  }[];
  t.same(
    audit.map((a) => a.target),
    ['m2'],
    'marked once, audited',
  );

  // Promoted while intact, altered afterwards: the control plane stops serving its bytes and marks it.
  t.equal((await w.post('/v1/models/promote', { version: 'm1', reason: 'go' }, TOKENS.operator)).status, 200);
  const ok = await fetch(`${w.url}/v1/models/m1/model.onnx`, {
    headers: { authorization: `Bearer ${TOKENS.viewer}` },
  });
  t.equal(ok.status, 200);
  await ok.arrayBuffer();
  await w.cp.store.db.write((sql) => sql.run('UPDATE models SET model = ? WHERE version = ?', [evil, 'm1']));
  for (const file of ['model.onnx', 'manifest.json', 'manifest.sig']) {
    const r = await w.get(`/v1/models/m1/${file}`, TOKENS.viewer);
    t.equal(r.status, 422, `${file} of an altered bundle is not served`);
    t.equal((r.json.error as { code: string }).code, 'ATP_ERR_MODEL_INTEGRITY_FAILED');
  }
  const after = (await w.get('/v1/models', TOKENS.viewer)).json.models as {
    version: string;
    state: string;
  }[];
  t.equal(after.find((m) => m.version === 'm1')?.state, 'integrity-failed');
});

t.test(
  'finding 7: only application/json is JSON (application/jsonx is refused, charset allowed)',
  async (t) => {
    const w = await startControlWorld(t);
    const post = (ctype: string) =>
      fetch(`${w.url}/v1/rules/holds/add`, {
        method: 'POST',
        headers: { 'content-type': ctype, authorization: `Bearer ${TOKENS.operator}` },
        body: JSON.stringify({ sku: 'S-1', reason: 'x' }),
      }).then((r) => r.status);
    t.equal(await post('application/jsonx'), 415);
    t.equal(await post('application/json-patch+json'), 415);
    t.equal(await post('application/json; charset=utf-8'), 200);
    t.equal(await post('Application/JSON'), 200);
  },
);
