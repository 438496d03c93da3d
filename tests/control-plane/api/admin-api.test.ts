/**
 * The admin API at its edge: every input validated with errors that name
 * the field (and say what to do), wrong methods and media types refused,
 * oversized bodies refused before they are read, audit queries validated.
 */
import t from 'tap';
import { startControlWorld, TOKENS } from '../helpers/control-world.js';

t.test('bad inputs are refused with the field named, and audited as refused', async (t) => {
  const w = await startControlWorld(t);
  const cases: [string, Record<string, unknown>, string][] = [
    ['/v1/kill-switches/set', { scope: 'planet', target: 'x', reason: 'r' }, 'scope'],
    ['/v1/kill-switches/set', { scope: 'region', target: 'eu west', reason: 'r' }, 'target'],
    ['/v1/kill-switches/set', { scope: 'route', target: 'checkout', reason: 'r' }, 'target'],
    ['/v1/kill-switches/set', { scope: 'global', target: 'eu-west', reason: 'r' }, 'target'],
    ['/v1/kill-switches/set', { scope: 'sku', target: 'SKU-1' }, 'reason'],
    ['/v1/kill-switches/set', { scope: 'sku', target: 'SKU-1', reason: '' }, 'reason'],
    ['/v1/routes/mode', { prefix: '/checkout', mode: 'maybe', reason: 'r' }, 'mode'],
    ['/v1/routes/rollout', { prefix: '/checkout', rollout_pct: 101, reason: 'r' }, 'rollout_pct'],
    ['/v1/routes/rollout', { prefix: '/checkout', rollout_pct: 12.5, reason: 'r' }, 'rollout_pct'],
    ['/v1/rules/holds/add', { sku: '', reason: 'r' }, 'sku'],
    ['/v1/rules/sellers/set', { node_id: 'S-1', reason: 'r' }, 'handling_hours'],
    [
      '/v1/rules/sellers/set',
      { node_id: 'S-1', blackout_hours_utc: [20, 30], reason: 'r' },
      'blackout_hours_utc',
    ],
    [
      '/v1/rules/sellers/set',
      { node_id: 'S-1', regions: ['eu-west', 'bad region'], reason: 'r' },
      'regions[1]',
    ],
    ['/v1/models/promote', { version: 'm1', pct: 10, reason: 'r' }, 'region'],
    ['/v1/models/push', { manifest_b64: '!!', model_b64: 'AA==', reason: 'r' }, 'manifest_b64'],
    ['/v1/tokens/create', { name: 'x', role: 'root', reason: 'r' }, 'role'],
  ];
  for (const [path, body, field] of cases) {
    const r = await w.post(path, body, TOKENS.admin);
    const e = r.json.error as { code: string; field: string; hint: string };
    t.equal(r.status, 400, `${path} ${JSON.stringify(body)}`);
    t.equal(e.code, 'ATP_ERR_INVALID_ARGUMENT');
    t.equal(e.field, field, `names ${field}`);
    t.ok(e.hint.length > 0, 'says what to do');
  }
  const refused = (await w.get('/v1/audit?outcome=refused&limit=100', TOKENS.viewer)).json.entries as {
    code: string;
    detail: { field?: string };
  }[];
  t.equal(refused.length, cases.length, 'each refused attempt is in the audit log');
  t.ok(refused.every((e) => e.code === 'ATP_ERR_INVALID_ARGUMENT' && typeof e.detail.field === 'string'));
});

t.test('a body that is not a JSON object is refused naming $', async (t) => {
  const w = await startControlWorld(t);
  for (const body of ['[1,2]', 'not json', '"s"']) {
    const r = await fetch(`${w.url}/v1/kill-switches/set`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.operator}` },
      body,
    });
    const j = (await r.json()) as { error: { field: string } };
    t.equal(r.status, 400, body);
    t.equal(j.error.field, '$');
  }
});

t.test('methods, media types, unknown paths and oversized bodies', async (t) => {
  const w = await startControlWorld(t);
  const auth = { authorization: `Bearer ${TOKENS.admin}` };
  const get = await fetch(`${w.url}/v1/kill-switches/set`, { headers: auth });
  t.equal(get.status, 405);
  t.match(((await get.json()) as { error: { message: string } }).error.message, /POST/);
  const post = await fetch(`${w.url}/v1/status`, { method: 'POST', headers: auth });
  t.equal(post.status, 405);
  await post.arrayBuffer();
  const text = await fetch(`${w.url}/v1/kill-switches/set`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'text/plain' },
    body: 'x',
  });
  t.equal(text.status, 415);
  await text.arrayBuffer();
  const missing = await fetch(`${w.url}/v1/nope`, { headers: auth });
  t.equal(missing.status, 404);
  await missing.arrayBuffer();
  const big = await fetch(`${w.url}/v1/kill-switches/set`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ scope: 'sku', target: 'A', reason: 'x'.repeat(100_000) }),
  });
  t.equal(big.status, 413);
  t.equal(((await big.json()) as { error: { code: string } }).error.code, 'ATP_ERR_PAYLOAD_TOO_LARGE');
});

t.test('state conflicts say what is in force and what to do', async (t) => {
  const w = await startControlWorld(t);
  await w.post('/v1/kill-switches/set', { scope: 'region', target: 'us-east', reason: 'x' }, TOKENS.operator);
  const clear = await w.post(
    '/v1/kill-switches/clear',
    { scope: 'region', target: 'eu-west', reason: 'x' },
    TOKENS.operator,
  );
  t.equal(clear.status, 404);
  t.match((clear.json.error as { message: string }).message, /set: region:us-east/);
  const rollout = await w.post(
    '/v1/routes/rollout',
    { prefix: '/browse', rollout_pct: 10, reason: 'x' },
    TOKENS.operator,
  );
  t.match((rollout.json.error as { message: string }).message, /atpctl mode set \/browse/);
  const rollback = await w.post('/v1/models/rollback', { reason: 'x' }, TOKENS.operator);
  t.equal(rollback.status, 409);
  t.match((rollback.json.error as { message: string }).message, /nothing to roll back/);
  const promote = await w.post('/v1/models/promote', { version: 'ghost', reason: 'x' }, TOKENS.operator);
  t.equal(promote.status, 404);
  t.match((promote.json.error as { message: string }).message, /atpctl model push/);
});

t.test('audit queries are validated and page backwards', async (t) => {
  const w = await startControlWorld(t);
  for (let i = 0; i < 5; i++)
    await w.post('/v1/rules/holds/add', { sku: `S-${i}`, reason: `r${i}` }, TOKENS.operator);
  const page1 = (await w.get('/v1/audit?action=hold.add&limit=3', TOKENS.viewer)).json;
  const e1 = page1.entries as { target: string; id: number }[];
  t.same(
    e1.map((e) => e.target),
    ['S-4@*', 'S-3@*', 'S-2@*'],
  );
  const page2 = (
    await w.get(`/v1/audit?action=hold.add&limit=3&before_id=${page1.next_before_id}`, TOKENS.viewer)
  ).json;
  t.same(
    (page2.entries as { target: string }[]).map((e) => e.target),
    ['S-1@*', 'S-0@*'],
  );
  const bad = await w.get('/v1/audit?limit=0', TOKENS.viewer);
  t.equal(bad.status, 400);
  t.equal((bad.json.error as { field: string }).field, 'limit');
  const badOutcome = await w.get('/v1/audit?outcome=maybe', TOKENS.viewer);
  t.equal((badOutcome.json.error as { field: string }).field, 'outcome');
});

t.test(
  'tokens: created once (shown once, stored hashed), listed without secrets, revoked at once',
  async (t) => {
    const w = await startControlWorld(t);
    const created = await w.post(
      '/v1/tokens/create',
      { name: 'dave', role: 'operator', reason: 'on-call' },
      TOKENS.admin,
    );
    const token = created.json.token as string;
    t.match(token, /^atp_[A-Za-z0-9_-]{40,}$/);
    t.equal(
      (await w.post('/v1/rules/holds/add', { sku: 'S', reason: 'x' }, token)).status,
      200,
      'the new token works',
    );
    const list = (await w.get('/v1/tokens', TOKENS.admin)).json.tokens as Record<string, unknown>[];
    t.notOk(JSON.stringify(list).includes(token), 'never listed');
    t.ok(list.some((x) => x.name === 'dave' && x.role === 'operator'));
    t.equal(
      (await w.post('/v1/tokens/create', { name: 'dave', role: 'viewer', reason: 'x' }, TOKENS.admin)).status,
      409,
    );
    await w.post('/v1/tokens/revoke', { name: 'dave', reason: 'rotation' }, TOKENS.admin);
    const after = await w.post('/v1/rules/holds/add', { sku: 'S2', reason: 'x' }, token);
    t.equal(after.status, 401);
    t.match((after.json.error as { message: string }).message, /revoked/);
    const audit = JSON.stringify((await w.get('/v1/audit?limit=100', TOKENS.viewer)).json);
    t.notOk(audit.includes(token), 'the token never reaches the audit log');
  },
);
