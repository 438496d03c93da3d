/**
 * Finding 1 (issue 16), the sidecar's side. Reproduced first: a fake watch
 * server sent a snapshot with version 2^53-1 and a global kill switch; the
 * sidecar applied and persisted it, then refused every real snapshot as
 * stale; the same version with another hash was accepted too. Now every
 * snapshot and every delta's result is verified (the control plane's
 * ed25519 key, recomputed hash, bounded version, chain) BEFORE it is
 * applied or persisted; refusals are acknowledged with their code; a
 * persisted file that fails verification is discarded loudly (log,
 * counter, moved aside) and never applied; the control plane lists the
 * version and hash the sidecar acknowledges it applied.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger } from '../../../platform/src/logger.js';
import {
  type ControlSnapshot,
  controlSnapshotToJson,
  defaultControlSnapshot,
} from '../../../proto/v1/control-snapshot.js';
import { canonicalSnapshot, snapshotContentHash } from '../../../proto/v1/snapshot-content.js';
import { diffSnapshots } from '../../../proto/v1/snapshot-delta.js';
import { GENESIS_PREV_HASH, signSnapshot } from '../../../proto/v1/snapshot-signature.js';
import { ControlWatchClient } from '../../../sidecar/src/control/control-watch-client.js';
import {
  SNAPSHOT_FILE_NAME,
  SnapshotPersistence,
} from '../../../sidecar/src/control/snapshot-persistence.js';
import { startControlWorld, TOKENS, tempDir, waitFor } from '../../control-plane/helpers/control-world.js';
import { freePort } from '../../helpers/redis-server.js';
import { worldSidecar } from '../../helpers/sidecar-world.js';
import { rogueFullEvent, startRogueWatchServer } from './rogue-watch-server.js';

const POISON_VERSION = Number.MAX_SAFE_INTEGER; // 2^53 - 1
const KILL_ALL = [{ scope: 'global' as const, target: '', reason: 'forged' }];
const TRUSTED = generateKeyPairSync('ed25519');
const STRANGER = generateKeyPairSync('ed25519');

function content(version: number, over: Partial<ControlSnapshot> = {}, prevHash?: string): ControlSnapshot {
  const s = canonicalSnapshot({ ...defaultControlSnapshot('m1'), ...over, version });
  return {
    ...s,
    contentHash: snapshotContentHash(s),
    prevHash: prevHash ?? (version === 1 ? GENESIS_PREV_HASH : 'sha256:elsewhere'),
  };
}
const signedBy = (s: ControlSnapshot, key = TRUSTED.privateKey): ControlSnapshot => signSnapshot(s, key);
const unsigned = (s: ControlSnapshot): ControlSnapshot => {
  const { signature: _sig, prevHash: _prev, ...rest } = s;
  return rest;
};

function logSink(): { lines: Record<string, unknown>[]; logger: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l !== '') lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

t.test(
  'finding 1: a forged 2^53-1 kill-everything snapshot is refused, not applied, not persisted',
  async (t) => {
    const good = signedBy(content(3, { holds: [{ sku: 'H-1', reason: 'real' }] }));
    const forged = content(POISON_VERSION, { killSwitches: KILL_ALL });
    const plausible = content(9, { killSwitches: KILL_ALL });
    const srv = await startRogueWatchServer(t, () => [
      rogueFullEvent(unsigned(forged)), // what the attacker sent in the finding
      rogueFullEvent(unsigned(plausible)), // the same at a plausible version
      rogueFullEvent(signedBy(plausible, STRANGER.privateKey)), // signed, by a key nobody trusts
      rogueFullEvent(signedBy(forged)), // even signed by the trusted key: past any real version
      rogueFullEvent(good),
    ]);
    const file = join(tempDir(t), SNAPSHOT_FILE_NAME);
    const applied: number[] = [];
    const c = new ControlWatchClient({
      address: srv.address,
      token: TOKENS.viewer,
      region: 'eu-west',
      sidecarId: 'sc-1',
      persistence: new SnapshotPersistence(file),
      snapshotKeys: [TRUSTED.publicKey],
      onSnapshot: (s) => applied.push(s.version),
    });
    t.teardown(() => c.stop());
    c.start();
    await c.waitForVersion(3, 5_000);
    await waitFor(() => srv.acks.length >= 6, 5_000, 'an ack per event and one at connect');
    t.same(applied, [3], 'only the real snapshot was applied');
    t.same(c.current?.killSwitches, [], 'ATP is not switched off');
    t.same(c.stats.refusedByCode, {
      ATP_ERR_SNAPSHOT_VERSION_JUMP: 2,
      ATP_ERR_SNAPSHOT_UNSIGNED: 1,
      ATP_ERR_SNAPSHOT_SIGNATURE_INVALID: 1,
    });
    t.same(
      srv.acks.map((a) => [a.version, a.refused_code ?? '']),
      [
        ['0', ''],
        ['0', 'ATP_ERR_SNAPSHOT_VERSION_JUMP'],
        ['0', 'ATP_ERR_SNAPSHOT_UNSIGNED'],
        ['0', 'ATP_ERR_SNAPSHOT_SIGNATURE_INVALID'],
        ['0', 'ATP_ERR_SNAPSHOT_VERSION_JUMP'],
        ['3', ''],
      ],
      'each refusal is acknowledged with its code and what is still served',
    );
    t.equal(srv.acks[1]?.refused_version, String(POISON_VERSION));
    t.equal(srv.acks[5]?.content_hash, good.contentHash);
    await c.stop();
    t.equal(new SnapshotPersistence(file).load().snapshot?.version, 3, 'only the real one reached the disk');
  },
);

t.test('finding 1: one version never has two contents, by full snapshot or by delta', async (t) => {
  const v1 = signedBy(content(1));
  const v2 = signedBy(content(2, { holds: [{ sku: 'H', reason: 'r' }] }, v1.contentHash));
  const v2Fork = signedBy(content(2, { killSwitches: KILL_ALL }, v1.contentHash));
  // A v3 that does not follow the held v2 (it names the fork's hash).
  const v3Elsewhere = signedBy(content(3, { killSwitches: KILL_ALL }, v2Fork.contentHash));
  const delta = (from: ControlSnapshot, to: ControlSnapshot) => ({
    delta: {
      from_version: String(from.version),
      to_version: String(to.version),
      content_hash: to.contentHash,
      delta_json: Buffer.from(JSON.stringify(diffSnapshots(from, to))),
    },
  });
  const srv = await startRogueWatchServer(t, () => [
    rogueFullEvent(v1),
    delta(v1, v2),
    rogueFullEvent(v2Fork),
    delta(v2, v3Elsewhere),
  ]);
  const c = new ControlWatchClient({
    address: srv.address,
    token: TOKENS.viewer,
    region: 'eu-west',
    sidecarId: 'sc-1',
    persistence: null,
    snapshotKeys: [TRUSTED.publicKey],
    onSnapshot: () => undefined,
  });
  t.teardown(() => c.stop());
  c.start();
  await waitFor(() => c.stats.invalid >= 2, 5_000, 'two refusals');
  t.equal(c.current?.version, 2);
  t.equal(c.current?.contentHash, v2.contentHash, 'the first v2 stays');
  t.same(c.stats.refusedByCode, { ATP_ERR_SNAPSHOT_FORK: 2 });
});

t.test(
  'finding 1: a persisted snapshot that fails verification is discarded loudly, never applied',
  async (t) => {
    const dir = tempDir(t);
    const file = join(dir, SNAPSHOT_FILE_NAME);
    // Valid JSON with a correct content hash (the old loader's only checks), signed by a stranger.
    const forged = signedBy(content(9, { killSwitches: KILL_ALL }), STRANGER.privateKey);
    writeFileSync(file, JSON.stringify(controlSnapshotToJson(forged)));
    const log = logSink();
    const sc = worldSidecar({
      logger: log.logger,
      controlLink: {
        region: 'eu-west',
        sidecarId: 'sc-1',
        // Nobody listens: the sidecar starts on what it has.
        grpcAddress: `127.0.0.1:${await freePort()}`,
        httpUrl: null,
        modelsRoot: dir,
        token: TOKENS.viewer,
        stateDir: dir,
        trustedKeys: [],
        snapshotKeys: [TRUSTED.publicKey],
        tls: null,
      },
    });
    await sc.start();
    t.teardown(() => sc.stop());
    t.equal(sc.control.snapshot.version, 0, 'the embedded default serves, not the forged file');
    t.same(sc.control.snapshot.killSwitches, []);
    t.equal(sc.link?.watch.stats.persistedDiscarded, 1);
    t.equal(sc.link?.watch.stats.lastErrorCode, 'ATP_ERR_SNAPSHOT_SIGNATURE_INVALID');
    const discarded = log.lines.find((l) => l.event === 'control_snapshot_discarded');
    t.equal(discarded?.level, 50, 'logged at error');
    t.equal(discarded?.code, 'ATP_ERR_SNAPSHOT_SIGNATURE_INVALID');
    t.notOk(existsSync(file), 'moved aside: the next start does not meet it again');
    t.equal(readdirSync(dir).filter((f) => f.startsWith(`${SNAPSHOT_FILE_NAME}.rejected-`)).length, 1);
    const metrics = await sc.metrics.registry.metrics();
    t.match(metrics, /atp_control_persisted_snapshot_discarded_total 1\b/);
    t.match(
      metrics,
      /atp_control_snapshot_refused_total\{code="ATP_ERR_SNAPSHOT_SIGNATURE_INVALID",source="disk"\} 1\b/,
    );
  },
);

t.test(
  'finding 1: against a real control plane the sidecar acks, and status lists the applied version',
  async (t) => {
    const w = await startControlWorld(t);
    const file = join(tempDir(t), SNAPSHOT_FILE_NAME);
    const c = new ControlWatchClient({
      address: w.grpc,
      token: TOKENS.viewer,
      region: 'eu-west',
      sidecarId: 'sc-real',
      persistence: new SnapshotPersistence(file),
      snapshotKeys: [w.snapshotKey],
      onSnapshot: () => undefined,
    });
    t.teardown(() => c.stop());
    c.start();
    await c.waitForVersion(1, 5_000);
    await w.post('/v1/kill-switches/set', { scope: 'sku', target: 'S-1', reason: 'INC-9' }, TOKENS.operator);
    await c.waitForVersion(2, 5_000);
    t.match(c.stats.keyId, /^ed25519:/, 'verified with the control plane key');
    type Watcher = {
      claimed_sidecar_id: string;
      version: number | null;
      applied: string;
      behind: number | null;
    };
    const mine = async () =>
      ((await w.get('/v1/status', TOKENS.viewer)).json.watchers as Watcher[]).find(
        (x) => x.claimed_sidecar_id === 'sc-real',
      );
    await waitFor(async () => (await mine())?.version === 2, 5_000, 'the ack of v2');
    const x = await mine();
    t.equal(x?.applied, 'current');
    t.equal(x?.behind, 0);
    t.equal(c.stats.invalid, 0);
    await waitFor(() => new SnapshotPersistence(file).load().snapshot?.version === 2, 2_000, 'persisted');
  },
);
