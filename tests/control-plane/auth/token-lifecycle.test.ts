/**
 * Finding 3 (issue 16): a revoked token kept its open watch streams (a
 * delta arrived after revocation), tokens never expired, and 500 streams
 * on one viewer token were accepted and listed under ids the client chose.
 * Now: revocation ends the token's streams at once (here and, through the
 * store poll, on other replicas) and no delta reaches them afterwards;
 * `token create --ttl` expires a token for requests and streams alike; a
 * token holds at most its cap of streams (4 by default); a token bound to
 * a sidecar id watches only as that id, and status lists server-known
 * identities.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { createFakeControlPlane } from '../../../control-plane/src/control-plane.js';
import { generateSigningKeys } from '../../../proto/v1/bundle-signature.js';
import { bootstrapTokens, startControlWorld, TOKENS, waitFor, worldOf } from '../helpers/control-world.js';
import { openWatch, type TestWatch } from '../helpers/watch-client.js';

const deltas = (s: TestWatch) => s.events.filter((e) => e.event === 'delta').length;

t.test('finding 3: revoking a token ends its open streams at once; no delta arrives after', async (t) => {
  const w = await startControlWorld(t);
  const made = await w.post('/v1/tokens/create', { name: 'sc-7', role: 'viewer', reason: 'sidecar' });
  const token = made.json.token as string;
  const s = openWatch(w.grpc, { token, sidecarId: 'sc-7' });
  const other = openWatch(w.grpc, { token: TOKENS.viewer });
  t.teardown(() =>
    [s, other].forEach((x) => {
      x.close();
    }),
  );
  await waitFor(() => s.events.length >= 1 && other.events.length >= 1, 5_000, 'streams up');
  await w.post('/v1/kill-switches/set', { scope: 'sku', target: 'A', reason: 'before' }, TOKENS.operator);
  await waitFor(() => deltas(s) === 1, 5_000, 'a delta before revocation');

  t.equal((await w.post('/v1/tokens/revoke', { name: 'sc-7', reason: 'stolen' })).status, 200);
  const atRevocation = s.events.length;
  for (const target of ['B', 'C', 'D']) {
    await w.post('/v1/kill-switches/set', { scope: 'sku', target, reason: 'after' }, TOKENS.operator);
  }
  await waitFor(() => deltas(other) >= 4, 5_000, 'the other stream gets every change');
  await waitFor(() => s.error !== null, 5_000, 'the revoked stream ended');
  t.equal(s.events.length, atRevocation, 'not one event after the revocation');
  t.equal(s.error?.code, grpc.status.UNAUTHENTICATED);
  t.equal(s.error?.metadata.get('atp-error-code')[0], 'ATP_ERR_UNAUTHENTICATED');
  t.match(s.error?.details, /sc-7" was revoked/);
  t.same(
    ((await w.get('/v1/status', TOKENS.viewer)).json.watchers as { principal: string }[]).map(
      (x) => x.principal,
    ),
    ['viewer-1'],
  );
});

t.test(
  'finding 3: a revocation made on another replica ends streams here before any newer version',
  async (t) => {
    const w = await startControlWorld(t, { watchPollMs: 50 });
    const token = (await w.post('/v1/tokens/create', { name: 'sc-8', role: 'viewer', reason: 'x' })).json
      .token as string;
    const s = openWatch(w.grpc, { token });
    t.teardown(() => s.close());
    await waitFor(() => s.events.length >= 1, 5_000, 'stream up');
    // Another replica's commits, straight into the shared store: the revocation, then a change.
    await w.cp.store.write((tx) => tx.tokens.revoke('sc-8', Date.now()));
    await w.cp.store.write((tx) =>
      tx.levers.upsertKillSwitch({ scope: 'global', target: '', reason: 'x', setBy: 'op', setAtMs: 1 }),
    );
    const { publishSnapshot } = await import('../../../control-plane/src/snapshot/snapshot-publisher.js');
    await w.cp.store.write((tx) => publishSnapshot(tx, Date.now()));
    await waitFor(() => s.error !== null, 5_000, 'ended by the poll');
    t.equal(deltas(s), 0, 'the version published after the revocation never reached it');
    t.equal(s.error?.code, grpc.status.UNAUTHENTICATED);
  },
);

t.test('finding 3: a token created with a TTL expires, for requests and open streams', async (t) => {
  let now = Date.now();
  const cp = createFakeControlPlane(
    { bootstrapTokens: bootstrapTokens(), watchHeartbeatMs: 100 },
    { clock: () => now },
  );
  await cp.start();
  t.teardown(() => cp.stop());
  const w = worldOf(cp, generateSigningKeys());
  const cli = await w.atpctl([
    '--json',
    'token',
    'create',
    'temp',
    '--role',
    'viewer',
    '--ttl',
    '2m',
    '--reason',
    'x',
  ]);
  t.equal(cli.code, 0, cli.stderr);
  const made = JSON.parse(cli.stdout);
  t.equal(made.expires_at_ms, now + 120_000);
  t.equal((await w.get('/v1/status', made.token)).status, 200, 'works before expiry');
  const s = openWatch(w.grpc, { token: made.token });
  t.teardown(() => s.close());
  await waitFor(() => s.events.length >= 1, 5_000, 'stream up');
  now += 121_000;
  const after = await w.get('/v1/status', made.token);
  t.equal(after.status, 401);
  t.match((after.json.error as { message: string }).message, /temp" expired at/);
  await waitFor(() => s.error !== null, 5_000, 'the stream ends at its next event');
  t.equal(s.error?.code, grpc.status.UNAUTHENTICATED);
  const list = (await w.get('/v1/tokens')).json.tokens as { name: string; expires_at_ms: number | null }[];
  t.equal(list.find((x) => x.name === 'temp')?.expires_at_ms, made.expires_at_ms);
  const bad = await w.atpctl([
    'token',
    'create',
    'x',
    '--role',
    'viewer',
    '--ttl',
    'forever',
    '--reason',
    'x',
  ]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--ttl: expected a duration/);
});

t.test('finding 3: a token holds at most its cap of streams (4 by default), not 500', async (t) => {
  const w = await startControlWorld(t);
  const token = (await w.post('/v1/tokens/create', { name: 'many', role: 'viewer', reason: 'x' })).json
    .token as string;
  const streams = Array.from({ length: 500 }, (_, i) => openWatch(w.grpc, { token, sidecarId: `id-${i}` }));
  t.teardown(() =>
    streams.forEach((s) => {
      s.close();
    }),
  );
  await waitFor(() => streams.every((s) => s.events.length > 0 || s.error !== null), 20_000, 'all answered');
  const open = streams.filter((s) => s.error === null);
  t.equal(open.length, 4, 'four streams, the default cap');
  const refused = streams.filter((s) => s.error !== null);
  t.ok(refused.every((s) => s.error?.code === grpc.status.RESOURCE_EXHAUSTED && s.events.length === 0));
  t.equal(refused[0]?.error?.metadata.get('atp-error-code')[0], 'ATP_ERR_TOO_MANY_STREAMS');
  t.equal(((await w.get('/v1/status', TOKENS.viewer)).json.watchers as unknown[]).length, 4);
  open[0]?.close();
  await waitFor(
    async () => ((await w.get('/v1/status', TOKENS.viewer)).json.watchers as unknown[]).length === 3,
    5_000,
    'freed',
  );
  const again = openWatch(w.grpc, { token });
  t.teardown(() => again.close());
  await waitFor(() => again.events.length >= 1, 5_000, 'a freed slot can be used');
  const two = (
    await w.post('/v1/tokens/create', { name: 'two', role: 'viewer', max_streams: 2, reason: 'x' })
  ).json.token as string;
  const capped = [0, 1, 2].map(() => openWatch(w.grpc, { token: two }));
  t.teardown(() =>
    capped.forEach((s) => {
      s.close();
    }),
  );
  await waitFor(() => capped.every((s) => s.events.length > 0 || s.error !== null), 5_000, 'answered');
  t.equal(capped.filter((s) => s.error === null).length, 2, "a token's own cap");
});

t.test(
  'finding 3: a token bound to a sidecar watches only as that sidecar; ids listed are the server-known ones',
  async (t) => {
    const w = await startControlWorld(t);
    const cli = await w.atpctl([
      '--json',
      'token',
      'create',
      'tok-eu-1',
      '--role',
      'viewer',
      '--sidecar-id',
      'sidecar-eu-1',
      '--reason',
      'one token per sidecar',
    ]);
    t.equal(cli.code, 0, cli.stderr);
    const token = JSON.parse(cli.stdout).token as string;
    const impostor = openWatch(w.grpc, { token, sidecarId: 'sidecar-us-9' });
    const self = openWatch(w.grpc, { token, sidecarId: 'sidecar-eu-1' });
    const anonymousId = openWatch(w.grpc, { token, sidecarId: '' });
    const unbound = openWatch(w.grpc, { token: TOKENS.viewer, sidecarId: 'whatever-i-like' });
    const garbage = openWatch(w.grpc, { token: TOKENS.viewer, sidecarId: '<script>alert(1)</script>' });
    t.teardown(() =>
      [impostor, self, anonymousId, unbound, garbage].forEach((s) => {
        s.close();
      }),
    );
    await waitFor(
      () =>
        impostor.error !== null &&
        garbage.error !== null &&
        [self, anonymousId, unbound].every((s) => s.events.length > 0),
      5_000,
      'answers',
    );
    t.equal(impostor.error?.code, grpc.status.PERMISSION_DENIED);
    t.match(impostor.error?.details, /belongs to sidecar sidecar-eu-1; it cannot watch as sidecar-us-9/);
    t.equal(garbage.error?.code, grpc.status.INVALID_ARGUMENT);
    const ws = (await w.get('/v1/status', TOKENS.viewer)).json.watchers as {
      sidecar_id: string;
      claimed_sidecar_id: string;
      bound: boolean;
    }[];
    t.same(ws.map((x) => [x.sidecar_id, x.claimed_sidecar_id, x.bound]).sort(), [
      ['sidecar-eu-1', 'sidecar-eu-1', true],
      ['sidecar-eu-1', 'unknown', true],
      ['viewer-1', 'whatever-i-like', false],
    ]);
  },
);
