/**
 * Finding 3 (issue 16) on the high-availability store: two control plane
 * replicas on one real PostgreSQL database (tests/helpers/postgres-server.ts),
 * signing with the same key. A sidecar watches replica B; its token is
 * revoked through replica A: B ends the stream (UNAUTHENTICATED) from its
 * store poll, and no version published after the revocation reaches it,
 * although B's other watchers get every version. A token created on A with a
 * TTL expires on B as well; the default TTL holds on both.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { DEFAULT_TOKEN_TTL_S } from '../../../control-plane/src/auth/tokens.js';
import { createFakeControlPlane } from '../../../control-plane/src/control-plane.js';
import { generateSigningKeys } from '../../../proto/v1/bundle-signature.js';
import { bootstrapTokens, TOKENS, testPostgres, waitFor, worldOf } from '../helpers/control-world.js';
import { openWatch, type TestWatch } from '../helpers/watch-client.js';

const POLL_MS = 50;
const deltas = (s: TestWatch) => s.events.filter((e) => e.event === 'delta').length;
/** The newest version a watch has been brought to (snapshot or delta). */
const reached = (s: TestWatch) =>
  Math.max(0, ...s.events.map((e) => Number(e.delta?.to_version ?? e.snapshot?.version ?? 0)));

t.test(
  'finding 3 (PostgreSQL, two replicas): a token revoked on one replica loses its streams on the other, before any newer version',
  async (t) => {
    const pgdb = await testPostgres(t);
    const signing = generateSigningKeys();
    let now = Date.now();
    const replica = async () => {
      const cp = createFakeControlPlane(
        {
          db: `${pgdb.url}?schema=${pgdb.schema}`,
          signingKeyPem: signing.privatePem,
          bootstrapTokens: bootstrapTokens(),
          watchPollMs: POLL_MS,
          watchHeartbeatMs: 200,
        },
        { clock: () => now },
      );
      await cp.start();
      t.teardown(() => cp.stop());
      return worldOf(cp, signing);
    };
    const a = await replica();
    const b = await replica();

    const made = await a.post('/v1/tokens/create', {
      name: 'sc-ha',
      role: 'viewer',
      sidecar_id: 'sc-ha',
      reason: 'x',
    });
    t.equal(made.status, 200);
    t.equal(made.json.expires_at_ms, now + DEFAULT_TOKEN_TTL_S * 1000, 'the default TTL on the HA store');
    const s = openWatch(b.grpc, { token: made.json.token as string, sidecarId: 'sc-ha' });
    const other = openWatch(b.grpc, { token: TOKENS.viewer });
    t.teardown(() =>
      [s, other].forEach((x) => {
        x.close();
      }),
    );
    await waitFor(() => s.events.length >= 1 && other.events.length >= 1, 10_000, 'streams up on B');
    await a.post('/v1/kill-switches/set', { scope: 'sku', target: 'A', reason: 'before' }, TOKENS.operator);
    await waitFor(() => deltas(s) === 1, 10_000, 'a change made on A reaches B before the revocation');

    t.equal((await a.post('/v1/tokens/revoke', { name: 'sc-ha', reason: 'stolen' })).status, 200);
    // Published on A right after the revocation: B reads both in one poll and must close first.
    for (const target of ['B', 'C']) {
      await a.post('/v1/kill-switches/set', { scope: 'sku', target, reason: 'after' }, TOKENS.operator);
    }
    await waitFor(() => s.error !== null, 10_000, 'the revoked stream on B ended');
    // B may read both versions in one poll and send them as one delta: wait for the version, not a count.
    const latest = (await a.get('/v1/status', TOKENS.viewer)).json.version as number;
    await waitFor(() => reached(other) >= latest, 10_000, "B's other watcher reaches the latest version");
    t.equal(deltas(s), 1, 'no version published after the revocation reached the revoked stream');
    t.equal(s.error?.code, grpc.status.UNAUTHENTICATED);
    t.match(s.error?.details, /sc-ha" was revoked/);
    t.equal((await b.get('/v1/status', made.json.token as string)).status, 401, 'and B refuses its requests');

    const temp = await a.post('/v1/tokens/create', { name: 'temp', role: 'viewer', ttl_s: 120, reason: 'x' });
    const token = temp.json.token as string;
    t.equal((await b.get('/v1/status', token)).status, 200, 'valid on B before expiry');
    const onB = openWatch(b.grpc, { token });
    t.teardown(() => onB.close());
    await waitFor(() => onB.events.length >= 1, 10_000, 'stream on B');
    now += 121_000;
    t.equal((await b.get('/v1/status', token)).status, 401, 'expired on B too');
    await waitFor(() => onB.error !== null, 10_000, 'its stream on B ends');
    t.equal(onB.error?.code, grpc.status.UNAUTHENTICATED);
  },
);
