/**
 * The gRPC watch stream as a sidecar sees it on the wire: a full snapshot
 * first, then one delta per change; resuming from a held version gets a
 * delta (or a heartbeat when current, a full snapshot when the hash does
 * not match); no valid viewer token, no stream.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { controlWatchService, type WatchEventMsg } from '../../../control-plane/src/watch/watch-proto.js';
import { type ControlSnapshot, parseControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import { applySnapshotDelta } from '../../../proto/v1/snapshot-delta.js';
import { startControlWorld, TOKENS, waitFor } from '../helpers/control-world.js';

interface Watch {
  events: WatchEventMsg[];
  error: grpc.ServiceError | null;
  close(): void;
}

function watch(address: string, token: string | null, from = 0, hash = ''): Watch {
  const Ctor = controlWatchService();
  const client = new Ctor(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Watch(req: unknown, md: grpc.Metadata): grpc.ClientReadableStream<WatchEventMsg>;
  };
  const md = new grpc.Metadata();
  if (token !== null) md.set('authorization', `Bearer ${token}`);
  const call = client.Watch(
    { from_version: String(from), content_hash: hash, sidecar_id: 'test-sidecar', region: 'eu-west' },
    md,
  );
  const w: Watch = {
    events: [],
    error: null,
    close: () => {
      call.cancel();
      client.close();
    },
  };
  call.on('data', (e: WatchEventMsg) => w.events.push(e));
  call.on('error', (e: grpc.ServiceError) => {
    w.error = e;
  });
  return w;
}

const full = (e: WatchEventMsg): ControlSnapshot =>
  parseControlSnapshot(JSON.parse(e.snapshot!.snapshot_json.toString('utf8')));

t.test('a new watcher gets the full snapshot, then a delta per change', async (t) => {
  const w = await startControlWorld(t);
  const s = watch(w.grpc, TOKENS.viewer);
  t.teardown(() => s.close());
  await waitFor(() => s.events.length >= 1, 5_000, 'first event');
  t.equal(s.events[0]!.event, 'snapshot');
  let held = full(s.events[0]!);
  t.equal(held.version, 1);

  await w.post(
    '/v1/kill-switches/set',
    { scope: 'region', target: 'eu-west', reason: 'INC-1' },
    TOKENS.operator,
  );
  await w.post('/v1/rules/holds/add', { sku: 'SKU-7', reason: 'recall' }, TOKENS.operator);
  await waitFor(() => s.events.filter((e) => e.event === 'delta').length >= 2, 5_000, 'two deltas');
  for (const e of s.events.filter((x) => x.event === 'delta')) {
    held = applySnapshotDelta(held, JSON.parse(e.delta!.delta_json.toString('utf8')));
    t.equal(held.contentHash, e.delta!.content_hash);
  }
  t.equal(held.version, 3);
  t.same(held.killSwitches, [{ scope: 'region', target: 'eu-west', reason: 'INC-1' }]);
  t.same(held.holds, [{ sku: 'SKU-7', reason: 'recall' }]);
  const status = (await w.get('/v1/status', TOKENS.viewer)).json as {
    watchers: {
      sidecar_id: string;
      claimed_sidecar_id: string;
      sent_version: number;
      version: number | null;
      behind: number | null;
    }[];
  };
  // Issue 16: the listed id is the server-known identity (the unbound token's name), the client's
  // string is only "claimed"; version and behind come from acks, which a plain Watch never sends.
  t.same(
    status.watchers.map((x) => [x.sidecar_id, x.claimed_sidecar_id, x.sent_version, x.version, x.behind]),
    [['viewer-1', 'test-sidecar', 3, null, null]],
    'the control plane lists the watcher, the version it sent and (no ack) no applied version',
  );
});

t.test(
  'resuming: a delta from a held version, a heartbeat when current, a full snapshot when the hash differs',
  async (t) => {
    const w = await startControlWorld(t);
    await w.post('/v1/kill-switches/set', { scope: 'sku', target: 'A', reason: 'a' }, TOKENS.operator);
    const v2 = parseControlSnapshot((await w.get('/v1/snapshot', TOKENS.viewer)).json);
    await w.post('/v1/kill-switches/set', { scope: 'sku', target: 'B', reason: 'b' }, TOKENS.operator);

    const resumed = watch(w.grpc, TOKENS.viewer, 2, v2.contentHash);
    t.teardown(() => resumed.close());
    await waitFor(() => resumed.events.length >= 1, 5_000, 'resume event');
    t.equal(resumed.events[0]!.event, 'delta');
    t.equal(Number(resumed.events[0]!.delta!.from_version), 2);
    const v3 = applySnapshotDelta(v2, JSON.parse(resumed.events[0]!.delta!.delta_json.toString('utf8')));
    t.equal(v3.version, 3);

    const current = watch(w.grpc, TOKENS.viewer, 3, v3.contentHash);
    t.teardown(() => current.close());
    await waitFor(() => current.events.length >= 1, 5_000, 'heartbeat');
    t.equal(current.events[0]!.event, 'heartbeat');
    t.equal(Number(current.events[0]!.heartbeat!.version), 3);

    const wrongHash = watch(w.grpc, TOKENS.viewer, 2, 'sha256:not-what-the-server-has');
    t.teardown(() => wrongHash.close());
    await waitFor(() => wrongHash.events.length >= 1, 5_000, 'full');
    t.equal(wrongHash.events[0]!.event, 'snapshot', 'another content under the same version: start over');
    t.equal(full(wrongHash.events[0]!).version, 3);

    const future = watch(w.grpc, TOKENS.viewer, 50, 'sha256:x');
    t.teardown(() => future.close());
    await waitFor(() => future.events.length >= 1, 5_000, 'full for an unknown version');
    t.equal(future.events[0]!.event, 'snapshot');
  },
);

t.test('heartbeats flow while nothing changes', async (t) => {
  const w = await startControlWorld(t, { watchHeartbeatMs: 100 });
  const s = watch(w.grpc, TOKENS.viewer);
  t.teardown(() => s.close());
  await waitFor(() => s.events.filter((e) => e.event === 'heartbeat').length >= 3, 5_000, 'three heartbeats');
  t.pass('heartbeats arrive');
});

t.test('no stream without a valid token; refusals carry the code', async (t) => {
  const w = await startControlWorld(t);
  for (const [token, code] of [
    [null, grpc.status.UNAUTHENTICATED],
    ['not-a-token-at-all', grpc.status.UNAUTHENTICATED],
  ] as const) {
    const s = watch(w.grpc, token);
    t.teardown(() => s.close());
    await waitFor(() => s.error !== null, 5_000, 'refusal');
    t.equal(s.error!.code, code);
    t.equal(s.error!.metadata.get('atp-error-code')[0], 'ATP_ERR_UNAUTHENTICATED');
    t.equal(s.events.length, 0, 'not one snapshot');
  }
  await w.post('/v1/tokens/revoke', { name: 'viewer-1', reason: 'test' }, TOKENS.admin);
  const revoked = watch(w.grpc, TOKENS.viewer);
  t.teardown(() => revoked.close());
  await waitFor(() => revoked.error !== null, 5_000, 'refusal');
  t.match(revoked.error!.details, /revoked/);
});

t.test('a slow reader gets versions coalesced into one delta, never a gap', async (t) => {
  const w = await startControlWorld(t);
  const s = watch(w.grpc, TOKENS.viewer);
  t.teardown(() => s.close());
  await waitFor(() => s.events.length >= 1, 5_000, 'first event');
  await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      w.post('/v1/rules/holds/add', { sku: `H-${i}`, reason: 'bulk' }, TOKENS.operator),
    ),
  );
  await waitFor(
    () => s.events.some((e) => e.event === 'delta' && Number(e.delta!.to_version) === 31),
    5_000,
    'delta to version 31',
  );
  let held = full(s.events[0]!);
  for (const e of s.events.filter((x) => x.event === 'delta')) {
    held = applySnapshotDelta(held, JSON.parse(e.delta!.delta_json.toString('utf8')));
  }
  t.equal(held.version, 31);
  t.equal(held.holds.length, 30);
});
