/**
 * The sidecar's watch client: follows the control plane (full snapshot,
 * then deltas), persists every good snapshot, starts from the persisted one
 * when the control plane is unreachable and catches up when it returns;
 * keeps invalid, stale or mismatching snapshots out (counted, coded) and
 * keeps serving the last good one; resyncs with a full snapshot after a
 * delta that does not fit.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createFakeControlPlane } from '../../../control-plane/src/control-plane.js';
import { generateSigningKeys } from '../../../proto/v1/bundle-signature.js';
import { type ControlSnapshot, defaultControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import { canonicalSnapshot, snapshotContentHash } from '../../../proto/v1/snapshot-content.js';
import { diffSnapshots } from '../../../proto/v1/snapshot-delta.js';
import { GENESIS_PREV_HASH, signSnapshot } from '../../../proto/v1/snapshot-signature.js';
import {
  ControlWatchClient,
  type SnapshotSource,
} from '../../../sidecar/src/control/control-watch-client.js';
import { SnapshotPersistence } from '../../../sidecar/src/control/snapshot-persistence.js';
import {
  startControlWorld,
  TOKENS,
  tempDir,
  waitFor,
  worldOf,
} from '../../control-plane/helpers/control-world.js';
import { rogueFullEvent, startRogueWatchServer } from './rogue-watch-server.js';

interface Seen {
  versions: number[];
  sources: SnapshotSource[];
  last: ControlSnapshot | null;
}

function client(
  t: Test,
  address: string,
  path: string | null,
  keys: readonly KeyObject[],
  token: string = TOKENS.viewer,
): { c: ControlWatchClient; seen: Seen } {
  const seen: Seen = { versions: [], sources: [], last: null };
  const c = new ControlWatchClient({
    address,
    token,
    snapshotKeys: keys,
    region: 'eu-west',
    sidecarId: 'sc-test',
    persistence: path === null ? null : new SnapshotPersistence(path),
    initialBackoffMs: 50,
    maxBackoffMs: 300,
    onSnapshot: (s, source) => {
      seen.versions.push(s.version);
      seen.sources.push(source);
      seen.last = s;
    },
  });
  t.teardown(() => c.stop());
  return { c, seen };
}

t.test('follows the control plane: full snapshot, then deltas, each persisted', async (t) => {
  const w = await startControlWorld(t);
  const file = join(tempDir(t), 'control-snapshot.json');
  const { c, seen } = client(t, w.grpc, file, [w.snapshotKey]);
  c.start();
  await c.waitForVersion(1, 5_000);
  await w.post(
    '/v1/kill-switches/set',
    { scope: 'region', target: 'eu-west', reason: 'INC-1' },
    TOKENS.operator,
  );
  await w.post('/v1/routes/mode', { prefix: '/checkout', mode: 'shadow', reason: 'eval' }, TOKENS.operator);
  await c.waitForVersion(3, 5_000);
  t.same(seen.versions, [1, 2, 3]);
  t.same(seen.last?.killSwitches, [{ scope: 'region', target: 'eu-west', reason: 'INC-1' }]);
  t.equal(c.stats.fullSnapshots, 1);
  t.equal(c.stats.deltas, 2);
  t.equal(c.stats.invalid, 0);
  await waitFor(() => new SnapshotPersistence(file).load().snapshot?.version === 3, 2_000, 'persisted v3');
  t.equal(new SnapshotPersistence(file).load().snapshot?.contentHash, seen.last?.contentHash);
});

t.test(
  'control plane unreachable at start: serves the persisted snapshot, then catches up when it returns',
  async (t) => {
    const dir = tempDir(t);
    const db = `sqlite:${join(dir, 'cp.db')}`;
    const keys = generateSigningKeys();
    const tokens = Object.entries(TOKENS).map(([role, token]) => ({ name: `${role}-1`, role, token }));
    const first = createFakeControlPlane({ db, bootstrapTokens: tokens, trustedKeysPem: [keys.publicPem] });
    await first.start();
    const w1 = worldOf(first, keys);
    await w1.post(
      '/v1/kill-switches/set',
      { scope: 'region', target: 'eu-west', reason: 'INC-2' },
      TOKENS.operator,
    );
    const file = join(dir, 'control-snapshot.json');
    const a = client(t, w1.grpc, file, [w1.snapshotKey]);
    a.c.start();
    await a.c.waitForVersion(2, 5_000);
    await a.c.stop();
    const { httpPort, grpcPort } = { httpPort: first.http.port, grpcPort: first.watch.port };
    await first.stop();

    // A sidecar restarting while the control plane is down.
    const b = client(t, `127.0.0.1:${grpcPort}`, file, [w1.snapshotKey]);
    b.c.start();
    t.same(b.seen.versions, [2], 'the persisted snapshot is in force before any connection');
    t.same(b.seen.sources, ['disk']);
    t.same(b.seen.last?.killSwitches, [{ scope: 'region', target: 'eu-west', reason: 'INC-2' }]);
    await waitFor(() => b.c.stats.reconnects >= 2, 5_000, 'reconnect attempts');
    t.equal(b.c.stats.connected, false);
    t.equal(b.c.stats.lastErrorCode, 'ATP_ERR_CONTROL_UNAVAILABLE');

    // It returns (same store, same ports) and something changes.
    const second = createFakeControlPlane({
      db,
      httpPort,
      grpcPort,
      bootstrapTokens: tokens,
      trustedKeysPem: [keys.publicPem],
    });
    await second.start();
    t.teardown(() => second.stop());
    await worldOf(second, keys).post(
      '/v1/kill-switches/clear',
      { scope: 'region', target: 'eu-west', reason: 'resolved' },
      TOKENS.operator,
    );
    await b.c.waitForVersion(3, 5_000);
    t.same(b.seen.last?.killSwitches, []);
    t.equal(b.c.stats.deltas, 1, 'caught up with a delta from the persisted version');
    t.equal(b.c.stats.fullSnapshots, 0);
  },
);

/** A scripted watch server for these tests (rogue-watch-server.ts). */
async function rogue(
  t: Test,
  script: (req: Record<string, string>, n: number) => unknown[],
): Promise<{ address: string; requests: Record<string, string>[] }> {
  return startRogueWatchServer(t, script);
}

const SIGNER = generateKeyPairSync('ed25519');
const KEYS = [SIGNER.publicKey];

function snap(
  version: number,
  over: Partial<ControlSnapshot> = {},
  prevHash = 'sha256:unknown',
): ControlSnapshot {
  const s = canonicalSnapshot({ ...defaultControlSnapshot('m1'), ...over, version });
  return signed({
    ...s,
    contentHash: snapshotContentHash(s),
    prevHash: version === 1 ? GENESIS_PREV_HASH : prevHash,
  });
}
const signed = (s: ControlSnapshot): ControlSnapshot => signSnapshot(s, SIGNER.privateKey);
const fullEv = rogueFullEvent;

t.test('invalid, tampered and stale snapshots are kept out; the last good one stays in force', async (t) => {
  const good = snap(5, { killSwitches: [{ scope: 'global', target: '', reason: 'INC' }] });
  const srv = await rogue(t, () => [
    fullEv(good),
    fullEv(snap(6), (j) => {
      j.routes = [{ prefix: 'no-slash', mode: 'enforce', rollout_pct: 100 }];
    }),
    fullEv(snap(7), (j) => {
      j.holds = [{ sku: 'SMUGGLED', reason: 'not what the hash covers' }];
    }),
    fullEv(snap(4)),
    { snapshot: { version: '8', content_hash: 'x', snapshot_json: Buffer.from('{not json') } },
  ]);
  const file = join(tempDir(t), 'control-snapshot.json');
  const { c, seen } = client(t, srv.address, file, KEYS);
  c.start();
  await waitFor(() => c.stats.invalid >= 4, 5_000, 'four refusals');
  t.same(seen.versions, [5], 'only the good snapshot was applied');
  t.same(c.current?.killSwitches, good.killSwitches);
  t.equal(c.stats.lastErrorCode, 'ATP_ERR_SNAPSHOT_INVALID');
  await waitFor(
    () => new SnapshotPersistence(file).load().snapshot?.version === 5,
    2_000,
    'good one persisted',
  );
});

t.test('a delta that does not fit makes the client resync with a full snapshot', async (t) => {
  const v1 = snap(1);
  const v2 = snap(2, { holds: [{ sku: 'H', reason: 'r' }] }, v1.contentHash);
  const badDelta = { ...diffSnapshots(v1, v2), content_hash: 'sha256:wrong' };
  const srv = await rogue(t, (_req, n) =>
    n === 1
      ? [
          fullEv(v1),
          {
            delta: {
              from_version: '1',
              to_version: '2',
              content_hash: 'sha256:wrong',
              delta_json: Buffer.from(JSON.stringify(badDelta)),
            },
          },
        ]
      : [fullEv(v2)],
  );
  const { c, seen } = client(t, srv.address, null, KEYS);
  c.start();
  await c.waitForVersion(2, 5_000);
  t.same(seen.versions, [1, 2]);
  t.equal(c.stats.invalid, 1);
  t.equal(srv.requests[1]?.from_version, '0', 'the resync asks for a full snapshot');
  t.same(c.current?.holds, [{ sku: 'H', reason: 'r' }]);
});

t.test('a refused token keeps the sidecar on its last good snapshot and says why', async (t) => {
  const w = await startControlWorld(t);
  const { c, seen } = client(t, w.grpc, null, [w.snapshotKey], 'atp_wrong_token_00000000000000');
  c.start();
  await waitFor(() => c.stats.lastErrorCode !== null, 5_000, 'refusal');
  t.equal(c.stats.lastErrorCode, 'ATP_ERR_CONTROL_REFUSED');
  t.same(seen.versions, []);
});
