/**
 * No endpoint changes state without a valid token of the right role: for
 * every change endpoint, no token and an unknown token get 401, each role
 * below the one required gets 403, and nothing changes; the required role
 * succeeds. Every refused attempt and every accepted change is in the audit
 * log. Reads need a viewer token (tokens: admin).
 */
import t from 'tap';
import { CHANGE_ENDPOINTS, READ_ENDPOINTS } from '../../../control-plane/src/api/admin-routes.js';
import { ACTIONS, ROLES, type Role } from '../../../control-plane/src/auth/roles.js';
import { pushBody, startControlWorld, TOKENS, tempDir, writeFakeBundle } from '../helpers/control-world.js';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

t.test(
  'every change endpoint refuses missing, unknown and under-privileged tokens, and audits each attempt',
  async (t) => {
    const w = await startControlWorld(t);
    const dir = tempDir(t);
    const m1 = writeFakeBundle(`${dir}/m1`, 'm1', w.keys);
    const m2 = writeFakeBundle(`${dir}/m2`, 'm2', w.keys);
    // In an order where each accepted call finds the state it needs.
    const cases: [string, Record<string, unknown>][] = [
      ['/v1/kill-switches/set', { scope: 'region', target: 'eu-west', reason: 'INC-1' }],
      ['/v1/kill-switches/clear', { scope: 'region', target: 'eu-west', reason: 'resolved' }],
      ['/v1/routes/mode', { prefix: '/checkout', mode: 'shadow', reason: 'evaluate' }],
      ['/v1/routes/rollout', { prefix: '/checkout', rollout_pct: 50, reason: 'half' }],
      ['/v1/rules/holds/add', { sku: 'SKU-1', reason: 'recall' }],
      ['/v1/rules/holds/remove', { sku: 'SKU-1', reason: 'lifted' }],
      ['/v1/rules/sellers/set', { node_id: 'S-1', handling_hours: 48, reason: 'sla' }],
      ['/v1/rules/sellers/remove', { node_id: 'S-1', reason: 'offboarded' }],
      ['/v1/models/push', pushBody(m1)],
      ['/v1/models/promote', { version: 'm1', reason: 'first' }],
      ['/v1/regions/put', { name: 'ap-south', residency: 'open', flows: [], reason: 'new region' }],
      ['/v1/regions/remove', { name: 'ap-south', reason: 'closed' }],
      ['/v1/tokens/create', { name: 'carol', role: 'viewer', reason: 'new hire' }],
      ['/v1/tokens/revoke', { name: 'carol', reason: 'left' }],
    ];
    // Experiments run in a world of their own: the refusal audit's per-minute detail budget is per control plane.
    const experimentCases: [string, Record<string, unknown>][] = [
      [
        '/v1/experiments/create',
        {
          id: 'ab-1',
          routes: ['/checkout'],
          regions: ['eu-west'],
          arms: [
            { name: 'control', kind: 'naive', weight_bp: 5000 },
            { name: 'chal', kind: 'challenger', weight_bp: 5000, model_version: 'm1' },
          ],
          reason: 'a/b',
        },
      ],
      ['/v1/experiments/start', { id: 'ab-1', reason: 'go' }],
      ['/v1/experiments/stop-arm', { id: 'ab-1', arm: 'chal', reason: 'guardrail' }],
      ['/v1/experiments/stop', { id: 'ab-1', reason: 'done' }],
    ];
    // Rollback needs two promotions: push and promote m2 with the admin first, then test rollback.
    t.same(
      Object.keys(CHANGE_ENDPOINTS).sort(),
      [...cases.map((c) => c[0]), ...experimentCases.map((c) => c[0]), '/v1/models/rollback'].sort(),
      'the table covers every change endpoint',
    );

    const attempt = async (path: string, body: Record<string, unknown>, world: typeof w = w) => {
      const action = CHANGE_ENDPOINTS[path]!;
      const required = ACTIONS[action].role as Role;
      const before = (await world.get('/v1/snapshot', TOKENS.viewer)).json.content_hash;
      const none = await world.post(path, body, null);
      t.equal(none.status, 401, `${path} without a token`);
      t.equal((none.json.error as { code: string }).code, 'ATP_ERR_UNAUTHENTICATED');
      const bogus = await world.post(path, body, 'atp_made_up_token_000000000000');
      t.equal(bogus.status, 401, `${path} with an unknown token`);
      for (const role of ROLES.filter((r) => RANK[r] < RANK[required])) {
        const r = await world.post(path, body, TOKENS[role]);
        t.equal(r.status, 403, `${path} as ${role} (needs ${required})`);
        t.equal((r.json.error as { code: string }).code, 'ATP_ERR_FORBIDDEN');
      }
      t.equal(
        (await world.get('/v1/snapshot', TOKENS.viewer)).json.content_hash,
        before,
        `${path}: nothing changed by refused attempts`,
      );
      const ok = await world.post(path, body, TOKENS[required]);
      t.equal(ok.status, 200, `${path} as ${required}: ${JSON.stringify(ok.json.error ?? '')}`);
      const audit = (await world.get(`/v1/audit?action=${action}&limit=100`, TOKENS.viewer)).json
        .entries as Record<string, unknown>[];
      const refused = audit.filter((e) => e.outcome === 'refused');
      const lower = ROLES.filter((r) => RANK[r] < RANK[required]).length;
      t.equal(refused.length, 2 + lower, `${action}: every refusal audited`);
      t.same(
        refused.filter((e) => e.actor === 'anonymous').map((e) => e.code),
        ['ATP_ERR_UNAUTHENTICATED', 'ATP_ERR_UNAUTHENTICATED'],
      );
      t.ok(refused.filter((e) => e.actor !== 'anonymous').every((e) => e.code === 'ATP_ERR_FORBIDDEN'));
      const accepted = audit.filter((e) => e.outcome === 'accepted' && e.actor !== 'system');
      t.equal(accepted.length, 1, `${action}: the accepted change audited once`);
      t.equal(accepted[0]!.actor, `${required}-1`);
      t.equal(accepted[0]!.reason, body.reason);
    };

    for (const [path, body] of cases) await attempt(path, body);
    t.equal((await w.post('/v1/models/push', pushBody(m2), TOKENS.admin)).status, 200);
    t.equal(
      (await w.post('/v1/models/promote', { version: 'm2', reason: 'second' }, TOKENS.operator)).status,
      200,
    );
    await attempt('/v1/models/rollback', { reason: 'bad model' });
    const w2 = await startControlWorld(t);
    const m1b = writeFakeBundle(`${dir}/m1b`, 'm1', w2.keys);
    t.equal((await w2.post('/v1/models/push', pushBody(m1b), TOKENS.admin)).status, 200);
    for (const [path, body] of experimentCases) await attempt(path, body, w2);
    t.equal(
      ((await w.get('/v1/snapshot', TOKENS.viewer)).json.model as { active: string }).active,
      'm1',
      'rolled back',
    );

    const everything = (await w.get('/v1/audit?limit=1000', TOKENS.viewer)).json.entries as Record<
      string,
      unknown
    >[];
    t.notOk(JSON.stringify(everything).includes(TOKENS.admin), 'no token ever lands in the audit log');
  },
);

t.test('reads need a viewer token; token listing needs an admin', async (t) => {
  const w = await startControlWorld(t);
  const dir = tempDir(t);
  await w.post('/v1/models/push', pushBody(writeFakeBundle(`${dir}/m1`, 'm1', w.keys)), TOKENS.admin);
  const reads = [
    ...Object.entries(READ_ENDPOINTS),
    ['/v1/models/m1/manifest.json', 'model.download'] as const,
  ];
  for (const [path, action] of reads) {
    const required = ACTIONS[action as keyof typeof ACTIONS].role as Role;
    const none = await fetch(w.url + path);
    t.equal(none.status, 401, `${path} without a token`);
    await none.arrayBuffer();
    for (const role of ROLES) {
      const r = await fetch(w.url + path, { headers: { authorization: `Bearer ${TOKENS[role]}` } });
      await r.arrayBuffer();
      t.equal(r.status, RANK[role] >= RANK[required] ? 200 : 403, `${path} as ${role}`);
    }
  }
});

t.test('health, readiness and metrics need no token and change nothing', async (t) => {
  const w = await startControlWorld(t);
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    const r = await fetch(w.url + path);
    t.equal(r.status, 200, path);
    await r.arrayBuffer();
  }
  const post = await fetch(`${w.url}/metrics`, { method: 'POST' });
  await post.arrayBuffer();
  t.equal((await w.get('/v1/status', TOKENS.viewer)).json.version, 1);
});
