/**
 * Issue 16 acceptance: 10,000 generated admin-API requests (a seeded
 * generator: bad, missing, revoked and valid tokens of every role; bad,
 * random, oversized and wrongly typed bodies; unknown paths and methods)
 * get no 5xx; nothing changes without the right role (every 2xx change was
 * sent with a token whose role allows it, every accepted audit entry names
 * such a role, and the snapshot versions published are exactly the
 * accepted changes that changed something); and the audit log stays
 * bounded (refusals beyond the per-minute budgets are only counted).
 */
import { Agent, request } from 'node:http';
import t from 'tap';
import { CHANGE_ENDPOINTS, READ_ENDPOINTS } from '../../../control-plane/src/api/admin-routes.js';
import { ACTIONS, type Role, roleAllows } from '../../../control-plane/src/auth/roles.js';
import { startControlWorld, TOKENS } from '../helpers/control-world.js';

const REQUESTS = 10_000;
const CONCURRENCY = 8;
const SEED = 0x16_2025;
const ANON_BUDGET = 30;
const PRINCIPAL_BUDGET = 120;

/** mulberry32: small, fast, good enough to spread cases; the seed makes a failure reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Gen {
  r: () => number;
  pick<T>(xs: readonly T[]): T;
  int(n: number): number;
}

function gen(seed: number): Gen {
  const r = rng(seed);
  return {
    r,
    pick: (xs) => xs[Math.floor(r() * xs.length)] as (typeof xs)[number],
    int: (n) => Math.floor(r() * n),
  };
}

const NASTY = [
  '',
  ' ',
  '\u0000',
  '<script>alert(1)</script>',
  '"; DROP TABLE tokens; --',
  '../../../../etc/passwd',
  '\u202e\ud83d\ude00',
  'x'.repeat(5_000),
  '/checkout',
  'eu-west',
  'SKU-1',
  'm1',
  '%00',
  '{"a":1}',
];

function value(g: Gen, depth = 0): unknown {
  switch (g.int(depth > 2 ? 6 : 9)) {
    case 0:
      return g.pick(NASTY);
    case 1:
      return g.pick([0, -1, 1.5, 101, 2 ** 53, -(2 ** 63), Number.MAX_VALUE]);
    case 2:
      return g.pick([true, false, null]);
    case 3:
      return `s-${g.int(1_000)}`;
    case 4:
      return g.pick(['global', 'region', 'route', 'sku', 'off', 'shadow', 'enforce', 'viewer', 'admin']);
    case 5:
      return g.int(200) - 50;
    case 6:
      return Array.from({ length: g.int(4) }, () => value(g, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < g.int(5); i++) o[g.pick(FIELDS)] = value(g, depth + 1);
      return o;
    }
  }
}

const FIELDS = [
  'scope',
  'target',
  'prefix',
  'mode',
  'rollout_pct',
  'sku',
  'region',
  'node_id',
  'handling_hours',
  'daily_order_cap',
  'blackout_hours_utc',
  'regions',
  'version',
  'pct',
  'name',
  'role',
  'ttl_s',
  'sidecar_id',
  'max_streams',
  'manifest_b64',
  'signature_b64',
  'model_b64',
  'reason',
  '__proto__',
  'constructor',
];

/** A body that is often valid for `path`, often not quite. */
function body(g: Gen, path: string): string | undefined {
  const kind = g.int(10);
  if (kind === 0) return undefined;
  if (kind === 1) return g.pick(['not json', '[1,2]', '"s"', '{', 'null', '{"reason":']);
  if (kind === 2) return JSON.stringify({ reason: 'big', pad: 'x'.repeat(70_000) });
  const plausible: Record<string, Record<string, unknown>> = {
    '/v1/kill-switches/set': {
      scope: g.pick(['sku', 'region', 'global', 'route']),
      target: g.pick(['SKU-1', 'eu-west', '/checkout', '']),
    },
    '/v1/kill-switches/clear': { scope: 'sku', target: 'SKU-1' },
    '/v1/routes/mode': {
      prefix: g.pick(['/checkout', '/browse', '/<x>']),
      mode: g.pick(['off', 'shadow', 'enforce']),
    },
    '/v1/routes/rollout': { prefix: '/checkout', rollout_pct: g.int(120) },
    '/v1/rules/holds/add': { sku: `SKU-${g.int(5)}` },
    '/v1/rules/holds/remove': { sku: `SKU-${g.int(5)}` },
    '/v1/rules/sellers/set': { node_id: `S-${g.int(3)}`, handling_hours: g.int(800) },
    '/v1/rules/sellers/remove': { node_id: `S-${g.int(3)}` },
    '/v1/models/promote': { version: g.pick(['m1', 'ghost', '../x']) },
    '/v1/models/rollback': {},
    '/v1/tokens/create': {
      name: `fz-${g.int(1_000_000)}`,
      role: g.pick(['viewer', 'operator', 'admin', 'root']),
    },
    '/v1/tokens/revoke': { name: g.pick(['fz-1', 'gone', 'nobody']) },
  };
  const base =
    kind < 7 ? { ...(plausible[path] ?? {}), reason: 'fuzz' } : (value(g) as Record<string, unknown>);
  if (kind === 6 && typeof base === 'object' && base !== null) {
    for (let i = 0; i < 2; i++) (base as Record<string, unknown>)[g.pick(FIELDS)] = value(g);
  }
  return JSON.stringify(base);
}

type TokenKind = 'none' | 'garbage' | 'long' | 'malformed' | 'revoked' | Role;
const TOKEN_KINDS: readonly TokenKind[] = [
  'none',
  'garbage',
  'long',
  'malformed',
  'revoked',
  'viewer',
  'operator',
  'admin',
];

t.test(
  'issue 16: 10,000 generated admin requests: no 5xx, no change without the role, audit bounded',
  async (t) => {
    // A burst no fuzz reaches: every request goes through authentication and validation (the
    // failure limiter has its own test, audit-flood.test.ts).
    const w = await startControlWorld(t, { authFailureBurst: 1_000_000 });
    // The checker's own token: no generated request names it, so it outlives the fuzz.
    const checker = (await w.post('/v1/tokens/create', { name: 'checker', role: 'admin', reason: 'fuzz' }))
      .json.token as string;
    const revoked = (await w.post('/v1/tokens/create', { name: 'gone', role: 'admin', reason: 'fuzz' })).json
      .token as string;
    await w.post('/v1/tokens/revoke', { name: 'gone', reason: 'fuzz' });
    const authFor: Record<TokenKind, string | undefined> = {
      none: undefined,
      garbage: 'Bearer atp_garbage_0000000000000000',
      long: `Bearer ${'a'.repeat(400)}`,
      malformed: 'Basic dXNlcjpwYXNz',
      revoked: `Bearer ${revoked}`,
      viewer: `Bearer ${TOKENS.viewer}`,
      operator: `Bearer ${TOKENS.operator}`,
      admin: `Bearer ${TOKENS.admin}`,
    };
    const versionBefore = (await w.get('/v1/status', checker)).json.version as number;
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    t.teardown(() => agent.destroy());
    const url = new URL(w.url);
    /** One request on a kept-alive connection (cheaper than fetch: client and server share this process). */
    const send = (c: (typeof cases)[number], auth: string | undefined): Promise<number> =>
      new Promise((resolve, reject) => {
        const payload = c.body === undefined || c.method === 'GET' ? undefined : c.body;
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: c.path,
            method: c.method,
            agent,
            headers: {
              ...(auth === undefined ? {} : { authorization: auth }),
              ...(c.contentType === '' ? {} : { 'content-type': c.contentType }),
              ...(payload === undefined ? {} : { 'content-length': Buffer.byteLength(payload) }),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    const g = gen(SEED);
    const paths = [
      ...Object.keys(CHANGE_ENDPOINTS),
      ...Object.keys(READ_ENDPOINTS),
      '/v1/models/m1/model.onnx',
      '/v1/models/../../etc/passwd',
      '/v1/nope',
      '/healthz',
      '/v1/snapshot?version=-1',
      '/v1/audit?limit=99999',
      '/v1/audit/export?since=garbage',
    ];
    const cases = Array.from({ length: REQUESTS }, () => {
      const path = g.pick(paths);
      const isChange = CHANGE_ENDPOINTS[path] !== undefined;
      return {
        path,
        method: g.r() < 0.9 ? (isChange ? 'POST' : 'GET') : g.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']),
        token: g.pick(TOKEN_KINDS),
        contentType: g.r() < 0.9 ? 'application/json' : g.pick(['text/plain', 'application/jsonx', '']),
        body: isChange ? body(g, path) : undefined,
      };
    });
    const statuses = new Map<number, number>();
    const violations: string[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < cases.length) {
          const c = cases[next++]!;
          const auth = authFor[c.token];
          const status = await send(c, auth);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status >= 500)
            violations.push(`${status} ${c.method} ${c.path} as ${c.token}: ${c.body?.slice(0, 120)}`);
          const action = CHANGE_ENDPOINTS[c.path];
          if (action !== undefined && status === 200) {
            const ok = c.token === 'viewer' || c.token === 'operator' || c.token === 'admin';
            if (!ok || !roleAllows(c.token as Role, ACTIONS[action].role))
              violations.push(`${c.path} accepted for a ${c.token} token`);
          }
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    t.comment(
      `${REQUESTS} requests in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    t.same(violations.slice(0, 10), [], 'no 5xx, no change accepted without the role');
    t.equal([...statuses.keys()].filter((s) => s >= 500).length, 0);

    const exported = await w.atpctl(['audit', 'export', '--since', '2000-01-01'], checker);
    const rows = exported.stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            actor: string;
            role: Role | null;
            action: string;
            outcome: string;
            detail: { changed?: boolean };
          },
      );
    const accepted = rows.filter((r) => r.outcome === 'accepted' && r.actor !== 'system');
    t.ok(
      accepted.every(
        (r) => r.role !== null && roleAllows(r.role, ACTIONS[r.action as keyof typeof ACTIONS].role),
      ),
      `every one of the ${accepted.length} accepted changes was made by a role that allows it`,
    );
    const versionAfter = (await w.get('/v1/status', checker)).json.version as number;
    t.equal(
      versionAfter - versionBefore,
      accepted.filter((r) => r.detail.changed === true).length,
      'every published version is an accepted change',
    );
    await w.cp.refusals.flush(true);
    const refused = (await w.atpctl(['audit', 'export', '--since', '2000-01-01'], checker)).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { outcome: string })
      .filter((r) => r.outcome === 'refused').length;
    const minutes = Math.ceil(seconds / 60) + 1;
    // One source (anonymous and revoked tokens) and three tokens, each with its budget and one aggregate row a minute.
    const bound = minutes * (ANON_BUDGET + 1 + 3 * (PRINCIPAL_BUDGET + 1));
    t.ok(refused <= bound, `refusals in the audit log: ${refused} (bound ${bound}) for ${REQUESTS} requests`);
  },
);
