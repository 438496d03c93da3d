/**
 * Finding 1 (issue 16): the control plane listed a sidecar that served a
 * forged snapshot as "behind 0", because it reported the version it SENT.
 * Now status reports what each sidecar acknowledges it serves
 * (WatchAndAck): current, behind by n, or diverged (a version this control
 * plane never published with that hash, or one ahead of it); a sidecar
 * that never acks (plain Watch) is "unknown", never "behind 0".
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { controlWatchService } from '../../../control-plane/src/watch/watch-proto.js';
import { startControlWorld, TOKENS, waitFor } from '../helpers/control-world.js';
import { applyAll } from '../helpers/signed-replay.js';
import { openWatch } from '../helpers/watch-client.js';

interface WatcherJson {
  sidecar_id: string;
  claimed_sidecar_id: string;
  protocol: string;
  sent_version: number;
  version: number | null;
  behind: number | null;
  applied: string;
  refused_code: string | null;
}

t.test(
  'finding 1: status shows the version and hash each sidecar says it applied, not the one sent',
  async (t) => {
    const w = await startControlWorld(t);
    const watchers = async () =>
      ((await w.get('/v1/status', TOKENS.viewer)).json.watchers as WatcherJson[]).sort((a, b) =>
        a.claimed_sidecar_id.localeCompare(b.claimed_sidecar_id),
      );
    const honest = openWatch(w.grpc, { token: TOKENS.viewer, sidecarId: 'a-honest', acks: true });
    const lagging = openWatch(w.grpc, { token: TOKENS.viewer, sidecarId: 'b-lagging', acks: true });
    const forged = openWatch(w.grpc, { token: TOKENS.viewer, sidecarId: 'c-forged', acks: true });
    const silent = openWatch(w.grpc, { token: TOKENS.viewer, sidecarId: 'd-silent' });
    t.teardown(() =>
      [honest, lagging, forged, silent].forEach((s) => {
        s.close();
      }),
    );
    await waitFor(
      () => [honest, lagging, forged, silent].every((s) => s.events.length >= 1),
      5_000,
      'first events',
    );
    const v1 = applyAll(lagging.events, [w.snapshotKey]);
    lagging.ack(v1);
    for (const target of ['eu-west', 'us-east']) {
      await w.post('/v1/kill-switches/set', { scope: 'region', target, reason: 'INC' }, TOKENS.operator);
    }
    await waitFor(() => honest.events.filter((e) => e.event === 'delta').length >= 2, 5_000, 'deltas');
    honest.ack(applyAll(honest.events, [w.snapshotKey]));
    // What the forged watch server of the finding made a sidecar serve: 2^53-1 and some hash.
    forged.ack({ version: Number.MAX_SAFE_INTEGER, contentHash: 'sha256:forged' });
    await waitFor(
      async () => (await watchers()).filter((x) => x.version !== null).length === 3,
      5_000,
      'acks',
    );
    const ws = await watchers();
    t.same(
      ws.map((x) => [x.claimed_sidecar_id, x.protocol, x.sent_version, x.version, x.behind, x.applied]),
      [
        ['a-honest', 'watch-and-ack', 3, 3, 0, 'current'],
        ['b-lagging', 'watch-and-ack', 3, 1, 2, 'behind'],
        ['c-forged', 'watch-and-ack', 3, Number.MAX_SAFE_INTEGER, null, 'diverged'],
        ['d-silent', 'watch', 3, null, null, 'unknown'],
      ],
    );
    // Same version, another hash: diverged too.
    lagging.ack(
      { version: 1, contentHash: 'sha256:other-content-under-v1' },
      { code: 'ATP_ERR_SNAPSHOT_FORK', version: 2 },
    );
    await waitFor(async () => (await watchers())[1]?.applied === 'diverged', 5_000, 'diverged');
    t.equal(
      (await watchers())[1]?.refused_code,
      'ATP_ERR_SNAPSHOT_FORK',
      'a refusal the sidecar reports is listed',
    );

    const text = await w.atpctl(['status'], TOKENS.viewer);
    t.match(text.stdout, /viewer-1 "a-honest"@eu-west applied v3[,\n]/);
    t.match(text.stdout, /"c-forged"@eu-west DIVERGED/);
    t.match(text.stdout, /"d-silent"@eu-west sent v3, applied unknown \(no ack\)/);
    t.notMatch(text.stdout, /c-forged[^,]*behind/, 'a forged version is never shown as behind 0');
  },
);

t.test('garbage acks are counted and ignored; the stream stays up', async (t) => {
  const w = await startControlWorld(t);
  const s = openWatch(w.grpc, { token: TOKENS.viewer, sidecarId: 'x', acks: true });
  t.teardown(() => s.close());
  await waitFor(() => s.events.length >= 1, 5_000, 'first event');
  (s as unknown as { ack: (h: unknown) => void }).ack({ version: -5, contentHash: 'x' });
  await new Promise((r) => setTimeout(r, 200));
  const [x] = (await w.get('/v1/status', TOKENS.viewer)).json.watchers as (WatcherJson & {
    bad_acks: number;
  })[];
  t.same([x?.version, x?.bad_acks], [null, 1]);
  t.equal(s.error, null, 'the stream stays up');
});

t.test('a WatchAndAck stream whose first message is not `watch` is refused', async (t) => {
  const w = await startControlWorld(t);
  const Ctor = controlWatchService();
  const client = new Ctor(w.grpc, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    WatchAndAck(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, unknown>;
  };
  t.teardown(() => client.close());
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${TOKENS.viewer}`);
  const call = client.WatchAndAck(md);
  const events: unknown[] = [];
  let error: grpc.ServiceError | null = null;
  call.on('data', (e) => events.push(e));
  call.on('error', (e: grpc.ServiceError) => {
    error = e;
  });
  call.write({ ack: { version: '1', content_hash: 'x', applied_at_ms: '1' } });
  await waitFor(() => error !== null, 5_000, 'refusal');
  t.equal((error as grpc.ServiceError | null)?.code, grpc.status.INVALID_ARGUMENT);
  t.equal(events.length, 0);
});
