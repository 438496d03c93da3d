/**
 * Finding 3 (issue 16): a revoked token kept its open watch streams (a
 * delta arrived after revocation), tokens never expired, and 500 streams
 * on one viewer token were accepted and listed under ids the client chose.
 * Now: every token expires (90 days unless created with another --ttl,
 * bootstrap tokens included); revocation ends the token's streams at once (here and, through the
 * store poll, on other replicas) and no delta reaches them afterwards;
 * `token create --ttl` expires a token for requests and streams alike; a
 * token holds at most its cap of streams (4 by default); a token bound to
 * a sidecar id watches only as that id, and status lists server-known
 * identities.
 */

import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { DEFAULT_TOKEN_TTL_S } from '../../../control-plane/src/auth/tokens.js';
import { createFakeControlPlane } from '../../../control-plane/src/control-plane.js';
import { runTokenCreate } from '../../../control-plane/src/main.js';
import { createControlStore } from '../../../control-plane/src/store/create-control-store.js';
import { MIGRATIONS_TO_V2 } from '../../../control-plane/src/store/schema.js';
import { generateSigningKeys } from '../../../proto/v1/bundle-signature.js';
import {
  bootstrapTokens,
  startControlWorld,
  TOKENS,
  tempDir,
  waitFor,
  worldOf,
} from '../helpers/control-world.js';
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

t.test('finding 3: every token expires: 90 days by default, whichever way it was created', async (t) => {
  t.equal(DEFAULT_TOKEN_TTL_S, 90 * 86_400, 'the documented default');
  let now = Date.now();
  const created = now;
  const cp = createFakeControlPlane({ bootstrapTokens: bootstrapTokens() }, { clock: () => now });
  await cp.start();
  t.teardown(() => cp.stop());
  const w = worldOf(cp, generateSigningKeys());
  const api = await w.post('/v1/tokens/create', { name: 'no-ttl', role: 'viewer', reason: 'x' });
  t.equal(api.json.expires_at_ms, created + DEFAULT_TOKEN_TTL_S * 1000, 'through the API, without ttl_s');
  const cli = await w.atpctl(['--json', 'token', 'create', 'cli', '--role', 'viewer', '--reason', 'x']);
  t.equal(JSON.parse(cli.stdout).expires_at_ms, created + DEFAULT_TOKEN_TTL_S * 1000, 'atpctl, no --ttl');
  const list = (await w.get('/v1/tokens')).json.tokens as { name: string; expires_at_ms: number | null }[];
  t.ok(
    list.every((x) => x.expires_at_ms === created + DEFAULT_TOKEN_TTL_S * 1000),
    'bootstrap tokens too: no token lives forever',
  );
  const token = api.json.token as string;
  now = created + DEFAULT_TOKEN_TTL_S * 1000 - 1;
  t.equal((await w.get('/v1/status', token)).status, 200, 'still valid a millisecond before');
  now = created + DEFAULT_TOKEN_TTL_S * 1000;
  t.equal((await w.get('/v1/status', token)).status, 401, 'expired on the dot');
  t.equal((await w.get('/v1/status', TOKENS.viewer)).status, 401, 'a bootstrap token as well');

  // Straight in the store (`atp-control-plane token create`, the first admin): the same default.
  const db = `sqlite:${join(tempDir(t), 'cp.db')}`;
  const before = Date.now();
  const out = await captureStdout(() => runTokenCreate({ db, name: 'first-admin', role: 'admin' }));
  t.equal(out.code, 0);
  const store = createControlStore({ kind: 'sqlite', path: db.slice('sqlite:'.length) });
  await store.open();
  t.teardown(() => store.close());
  const row = (await store.read((tx) => tx.tokens.list())).find((x) => x.name === 'first-admin');
  const exp = row?.expiresAtMs ?? 0;
  t.ok(
    exp >= before + DEFAULT_TOKEN_TTL_S * 1000 && exp <= Date.now() + DEFAULT_TOKEN_TTL_S * 1000,
    `expires 90 days after its creation (${new Date(exp).toISOString()})`,
  );
});

t.test(
  'finding 3: status flags a sidecar whose token expires within 14 days, before its stream ends',
  async (t) => {
    const w = await startControlWorld(t);
    const soon = await w.atpctl([
      '--json',
      'token',
      'create',
      'sc-soon',
      '--role',
      'viewer',
      '--sidecar-id',
      'sc-soon',
      '--ttl',
      '3d',
      '--reason',
      'x',
    ]);
    const later = await w.atpctl([
      '--json',
      'token',
      'create',
      'sc-later',
      '--role',
      'viewer',
      '--reason',
      'x',
    ]);
    const streams = [
      openWatch(w.grpc, { token: JSON.parse(soon.stdout).token, sidecarId: 'sc-soon' }),
      openWatch(w.grpc, { token: JSON.parse(later.stdout).token }),
    ];
    t.teardown(() =>
      streams.forEach((s) => {
        s.close();
      }),
    );
    await waitFor(() => streams.every((s) => s.events.length >= 1), 5_000, 'streams up');
    const json = JSON.parse((await w.atpctl(['--json', 'status'], TOKENS.viewer)).stdout);
    const byId = new Map(
      (json.watchers as { sidecar_id: string; token_expires_at_ms: number }[]).map((x) => [x.sidecar_id, x]),
    );
    t.equal(byId.get('sc-soon')?.token_expires_at_ms, JSON.parse(soon.stdout).expires_at_ms);
    const line = (await w.atpctl(['status'], TOKENS.viewer)).stdout
      .split('\n')
      .find((l) => l.startsWith('watchers'));
    // Each watcher's part of the line: from its id to the other watcher's id (or the end).
    const part = (id: string, other: string): string => {
      const l = line ?? '';
      const at = l.indexOf(id);
      const next = l.indexOf(other, at + 1);
      return at < 0 ? '' : l.slice(at, next > at ? next : undefined);
    };
    t.match(part('sc-soon', 'sc-later'), /TOKEN EXPIRES 20\d\d-/, 'three days left: flagged');
    t.match(part('sc-later', 'sc-soon'), /applied/, 'listed');
    t.notMatch(part('sc-later', 'sc-soon'), /TOKEN EXPIRES/, 'ninety days left: not flagged');
  },
);

t.test(
  'finding 3: tokens of a store from before expiries get the default lifetime at the migration',
  async (t) => {
    const path = join(tempDir(t), 'cp.db');
    const old = createControlStore({ kind: 'sqlite', path });
    await old.open();
    await old.write((tx) =>
      tx.tokens.insert({
        name: 'legacy',
        tokenHash: 'a'.repeat(64),
        role: 'admin',
        createdBy: 'system',
        createdAtMs: 1,
        revokedAtMs: null,
        expiresAtMs: null,
        sidecarId: null,
      }),
    );
    await old.close();
    // Back to the version-1 schema, as an older control plane left it.
    const Database = (await import('better-sqlite3')).default;
    const raw = new Database(path);
    raw.exec('DELETE FROM schema_migrations WHERE version >= 2');
    for (const stmt of MIGRATIONS_TO_V2) {
      const m = /ALTER TABLE (\w+) ADD COLUMN (\w+)/.exec(stmt);
      raw.exec(`ALTER TABLE ${m?.[1]} DROP COLUMN ${m?.[2]}`);
    }
    // Tables later versions added (the DDL creates them again on open, their migrations fill them).
    const tables = raw
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as {
      name: string;
    }[];
    for (const { name } of tables) if (!V1_TABLES.has(name)) raw.exec(`DROP TABLE ${name}`);
    raw.close();
    const nowMs = Date.now();
    const migrated = createControlStore({ kind: 'sqlite', path });
    await migrated.open(nowMs);
    t.teardown(() => migrated.close());
    const row = (await migrated.read((tx) => tx.tokens.list())).find((x) => x.name === 'legacy');
    t.equal(row?.expiresAtMs, nowMs + DEFAULT_TOKEN_TTL_S * 1000, 'a token that never expired now does');
  },
);

/** The tables of a version-1 store (control plane before issue 16). */
const V1_TABLES = new Set([
  'schema_migrations',
  'kill_switches',
  'routes',
  'holds',
  'sellers',
  'models',
  'model_rollout',
  'model_history',
  'snapshots',
  'audit_log',
  'tokens',
]);

/** Runs `fn` with process.stdout captured (runTokenCreate prints the token there). */
async function captureStdout(fn: () => Promise<number>): Promise<{ code: number; stdout: string }> {
  const write = process.stdout.write.bind(process.stdout);
  let stdout = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await fn(), stdout };
  } finally {
    process.stdout.write = write;
  }
}

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
