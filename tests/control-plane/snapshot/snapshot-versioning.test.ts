/**
 * Versioned snapshots: the version moves by one per real change (and not
 * on a no-op), the content hash identifies content whatever the order the
 * collections were built in, and rules_version changes exactly when holds
 * or seller constraints change.
 */
import t from 'tap';
import { type ControlSnapshot, defaultControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import { canonicalJson, rulesVersionOf, snapshotContentHash } from '../../../proto/v1/snapshot-content.js';
import { startControlWorld, TOKENS } from '../helpers/control-world.js';

function snap(over: Partial<ControlSnapshot>): ControlSnapshot {
  return { ...defaultControlSnapshot('m1'), ...over };
}

t.test('the content hash ignores collection order and version, and sees every field', async (t) => {
  const a = snap({
    killSwitches: [
      { scope: 'sku', target: 'B', reason: 'x' },
      { scope: 'region', target: 'eu', reason: 'y' },
    ],
    holds: [
      { sku: 'S2', reason: 'r' },
      { sku: 'S1', region: 'eu', reason: 'r' },
    ],
  });
  const b = snap({
    version: 99,
    killSwitches: [...a.killSwitches].reverse(),
    holds: [...a.holds].reverse(),
  });
  t.equal(snapshotContentHash(a), snapshotContentHash(b));
  t.not(snapshotContentHash(a), snapshotContentHash(snap({ ...a, holds: [{ sku: 'S2', reason: 'other' }] })));
  t.not(snapshotContentHash(a), snapshotContentHash(snap({ ...a, model: { active: 'm2' } })));
  t.not(
    snapshotContentHash(a),
    snapshotContentHash(snap({ ...a, routes: [{ prefix: '/checkout', mode: 'shadow', rolloutPct: 100 }] })),
  );
});

t.test('canonical JSON sorts keys at every depth and drops undefined members', async (t) => {
  t.equal(
    canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined }], c: null } }),
    '{"a":{"c":null,"d":[2,{"z":1}]},"b":1}',
  );
});

t.test('rules_version is content-addressed over holds and sellers only', async (t) => {
  const v1 = rulesVersionOf([{ sku: 'A', reason: 'r' }], []);
  t.match(v1, /^rules-[0-9a-f]{12}$/);
  t.equal(v1, rulesVersionOf([{ sku: 'A', reason: 'r' }], []));
  t.not(v1, rulesVersionOf([{ sku: 'A', reason: 'r' }], [{ nodeId: 'S', handlingHours: 4 }]));
});

t.test('each accepted change publishes the next version; a no-op publishes none', async (t) => {
  const w = await startControlWorld(t);
  const v = async () => (await w.get('/v1/status', TOKENS.viewer)).json.version as number;
  t.equal(await v(), 1, 'a fresh control plane starts at version 1');
  const r1 = await w.post(
    '/v1/kill-switches/set',
    { scope: 'sku', target: 'SKU-9', reason: 'bad feed' },
    TOKENS.operator,
  );
  t.equal((r1.json.snapshot as { version: number }).version, 2);
  const r2 = await w.post(
    '/v1/kill-switches/set',
    { scope: 'sku', target: 'SKU-9', reason: 'bad feed' },
    TOKENS.operator,
  );
  t.equal(r2.json.changed, false);
  t.equal((r2.json.snapshot as { version: number }).version, 2, 'same content, same version');
  const r3 = await w.post(
    '/v1/rules/holds/add',
    { sku: 'SKU-1', region: 'eu-west', reason: 'ban' },
    TOKENS.operator,
  );
  t.equal((r3.json.snapshot as { version: number }).version, 3);
  const s3 = (await w.get('/v1/snapshot', TOKENS.viewer)).json;
  const s2 = (await w.get('/v1/snapshot?version=2', TOKENS.viewer)).json;
  t.not(s3.rules_version, s2.rules_version, 'a hold changes the rules version');
  t.not(s3.content_hash, s2.content_hash);
  await w.post(
    '/v1/rules/holds/remove',
    { sku: 'SKU-1', region: 'eu-west', reason: 'lifted' },
    TOKENS.operator,
  );
  const s4 = (await w.get('/v1/snapshot', TOKENS.viewer)).json;
  t.equal(s4.version, 4, 'going back to old content is still a new version');
  t.equal(s4.content_hash, s2.content_hash, 'with the old content hash');
  t.equal(s4.rules_version, s2.rules_version);
  const old = await w.get('/v1/snapshot?version=77', TOKENS.viewer);
  t.equal(old.status, 404);
  t.equal((old.json.error as { field: string }).field, 'version');
});

t.test('a restarted control plane on the same store continues the version sequence', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'atp-cp-restart-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const db = `sqlite:${join(dir, 'cp.db')}`;
  const first = await startControlWorld(t, { db });
  await first.post('/v1/kill-switches/set', { scope: 'global', reason: 'test' }, TOKENS.operator);
  await first.cp.stop();
  const second = await startControlWorld(t, { db });
  const s = (await second.get('/v1/status', TOKENS.viewer)).json;
  t.equal(s.version, 2);
  t.same(s.kill_switches, [{ scope: 'global', target: '', reason: 'test' }]);
  const r = await second.post(
    '/v1/kill-switches/clear',
    { scope: 'global', reason: 'done' },
    TOKENS.operator,
  );
  t.equal((r.json.snapshot as { version: number }).version, 3);
});
