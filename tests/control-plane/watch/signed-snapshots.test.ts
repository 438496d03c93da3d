/**
 * Finding 1 (issue 16), the control plane's side: every snapshot and delta
 * it publishes is signed with its ed25519 key and chained (prev_hash), so a
 * sidecar can verify each one before applying or persisting it; GET
 * /v1/snapshot serves the same signed form; the key is configured
 * (--signing-key) or generated once and kept in the state dir, so a restart
 * neither changes the key nor bumps the version; a store written before
 * signing existed is chained once at start.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createFakeControlPlane } from '../../../control-plane/src/control-plane.js';
import {
  SIGNING_KEY_FILE,
  SIGNING_PUBLIC_KEY_FILE,
} from '../../../control-plane/src/snapshot/snapshot-signer.js';
import { createControlStore } from '../../../control-plane/src/store/create-control-store.js';
import { generateSigningKeys, publicKeyId } from '../../../proto/v1/bundle-signature.js';
import { parseControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import { GENESIS_PREV_HASH, verifySnapshot } from '../../../proto/v1/snapshot-signature.js';
import {
  bootstrapTokens,
  startControlWorld,
  TOKENS,
  tempDir,
  waitFor,
  worldOf,
} from '../helpers/control-world.js';
import { applyAll } from '../helpers/signed-replay.js';
import { fullOf, openWatch } from '../helpers/watch-client.js';

t.test('finding 1: every snapshot and delta on the watch stream is signed and chained', async (t) => {
  const w = await startControlWorld(t);
  const s = openWatch(w.grpc, { token: TOKENS.viewer });
  t.teardown(() => s.close());
  await waitFor(() => s.events.length >= 1, 5_000, 'first event');
  const first = fullOf(s.events[0]!);
  t.equal(first.prevHash, GENESIS_PREV_HASH, 'version 1 starts the chain');
  t.equal(first.signature?.keyId, w.cp.signer.keyId);
  for (const [scope, target] of [
    ['region', 'eu-west'],
    ['sku', 'SKU-1'],
    ['global', undefined],
  ] as const) {
    await w.post('/v1/kill-switches/set', { scope, target, reason: 'INC-7' }, TOKENS.operator);
  }
  await waitFor(() => s.events.filter((e) => e.event === 'delta').length >= 3, 5_000, 'three deltas');
  for (const e of s.events.filter((x) => x.event === 'delta')) {
    const d = JSON.parse(e.delta!.delta_json.toString('utf8'));
    t.ok(d.signature?.value, `delta to ${d.to_version} carries the signature of what it produces`);
  }
  const held = applyAll(s.events, [w.snapshotKey]);
  t.equal(held?.version, 4, 'each step verified against the held snapshot');
  const stranger = createPublicKey(generateSigningKeys().publicPem);
  t.throws(() => applyAll(s.events, [stranger]), { code: 'ATP_ERR_SNAPSHOT_SIGNATURE_INVALID' });

  const api = parseControlSnapshot((await w.get('/v1/snapshot', TOKENS.viewer)).json);
  t.same(verifySnapshot(api, [w.snapshotKey], { held }).same, true, 'GET /v1/snapshot: the same signed v4');
  const v2 = parseControlSnapshot((await w.get('/v1/snapshot?version=2', TOKENS.viewer)).json);
  t.equal(v2.prevHash, first.contentHash);
  t.ok(verifySnapshot(v2, [w.snapshotKey], { held: first }), 'past versions are served signed too');
  const status = (await w.get('/v1/status', TOKENS.viewer)).json;
  t.equal(status.signing_key_id, w.cp.signer.keyId);
});

t.test('finding 1: a generated key is kept in the state dir; a restart keeps key and version', async (t) => {
  const dir = tempDir(t);
  const db = `sqlite:${join(dir, 'cp.db')}`;
  const first = createFakeControlPlane({ db, bootstrapTokens: bootstrapTokens() });
  await first.start();
  const keyId = first.signer.keyId;
  t.equal(first.signer.source, 'generated-now');
  t.equal(statSync(join(dir, SIGNING_KEY_FILE)).mode & 0o777, 0o600, 'the private key is its owner only');
  const pub = createPublicKey(readFileSync(join(dir, SIGNING_PUBLIC_KEY_FILE), 'utf8'));
  t.equal(publicKeyId(pub), keyId, 'the public half sits beside it, for sidecars to trust');
  await worldOf(first, generateSigningKeys()).post(
    '/v1/kill-switches/set',
    { scope: 'global', reason: 'x' },
    TOKENS.operator,
  );
  await first.stop();
  const second = createFakeControlPlane({ db, bootstrapTokens: bootstrapTokens() });
  await second.start();
  t.teardown(() => second.stop());
  t.same([second.signer.keyId, second.signer.source], [keyId, 'state-dir']);
  const s = parseControlSnapshot(
    (await worldOf(second, generateSigningKeys()).get('/v1/snapshot', TOKENS.viewer)).json,
  );
  t.equal(s.version, 2, 'no new version for a restart');
  t.ok(verifySnapshot(s, [pub]));
});

t.test('finding 1: --signing-key is used as given; an unusable one refuses to start', async (t) => {
  const dir = tempDir(t);
  const keys = generateSigningKeys();
  const keyPath = join(dir, 'snap.key.pem');
  writeFileSync(keyPath, keys.privatePem, { mode: 0o600 });
  const cp = createFakeControlPlane({ signingKey: keyPath, stateDir: dir });
  await cp.start();
  t.teardown(() => cp.stop());
  t.same([cp.signer.keyId, cp.signer.source], [keys.keyId, 'configured']);
  t.notOk(existsSync(join(dir, SIGNING_KEY_FILE)), 'nothing generated when a key is configured');
  const bad = createFakeControlPlane({ signingKey: join(dir, 'missing.pem') });
  await t.rejects(bad.start(), { code: 'ATP_ERR_CONFIG_INVALID', field: 'signingKey' });
  await bad.stop();
  t.throws(() => createFakeControlPlane({ db: 'postgres://db/atp' }), {
    code: 'ATP_ERR_CONFIG_INVALID',
    field: 'signingKey',
  });
});

t.test('finding 1: a store written before signing is chained once at start (audited)', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'old.db');
  const store = createControlStore({ kind: 'sqlite', path });
  await store.open(1_000);
  // What an older control plane stored: a version without prev_hash.
  const { buildSnapshot } = await import('../../../control-plane/src/snapshot/build-snapshot.js');
  const { snapshotContentHash } = await import('../../../proto/v1/snapshot-content.js');
  const { controlSnapshotToJson } = await import('../../../proto/v1/control-snapshot.js');
  await store.write(async (tx) => {
    const built = await buildSnapshot(tx);
    const s = { ...built, version: 1, contentHash: snapshotContentHash(built) };
    await tx.snapshots.insert({
      version: 1,
      contentHash: s.contentHash,
      body: JSON.stringify(controlSnapshotToJson(s)),
      createdAtMs: 1_000,
    });
  });
  await store.close();
  const w = worldOf(
    createFakeControlPlane({ db: `sqlite:${path}`, bootstrapTokens: bootstrapTokens() }),
    generateSigningKeys(),
  );
  await w.cp.start();
  t.teardown(() => w.cp.stop());
  const s = parseControlSnapshot((await w.get('/v1/snapshot', TOKENS.viewer)).json);
  t.equal(s.version, 2, 'the same content again, chained, as version 2');
  t.ok(verifySnapshot(s, [w.snapshotKey]));
  const audit = (await w.get('/v1/audit?action=snapshot.chain', TOKENS.viewer)).json.entries as unknown[];
  t.equal(audit.length, 1);
  t.equal(
    (await w.get('/v1/snapshot?version=1', TOKENS.viewer)).status,
    404,
    'the unchained version is not served',
  );
});
