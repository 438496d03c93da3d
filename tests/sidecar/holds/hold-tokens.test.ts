/**
 * Issue 16 finding 6 and a smaller item, at the HTTP edge of a real sidecar:
 * - a hold could be released by anyone who knew (or guessed) its decision id:
 *   now the checkout answer carries `x-atp-hold-token` (an HMAC of the id) and
 *   a release without it, or with another decision's token, is refused 403
 *   naming `hold_token`, the hold kept;
 * - decision (= hold) ids were time, process tag and a counter: now 96
 *   random bits after the time prefix;
 * - a client that aborts mid-body was counted as an internal error: now
 *   `code="ATP_ERR_CLIENT_CLOSED"`.
 */
import { connect } from 'node:net';
import t from 'tap';
import { HoldTokens } from '../../../sidecar/src/adapters/http/hold-token.js';
import { newDecisionId } from '../../../sidecar/src/decision/decision-id.js';
import { worldSidecar } from '../../helpers/sidecar-world.js';

const CHECKOUT = JSON.stringify({
  request_id: 'r-1',
  buyer_zone: 'Z1-1',
  channel: 'checkout',
  items: [{ sku: 'IN-STOCK', qty: 1 }],
});

async function post(port: number, path: string, body: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, any> };
}

t.test('release needs the hold token of its decision; the hold survives refused attempts', async (t) => {
  const sc = worldSidecar();
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());
  const a = await post(httpPort, '/v1/check', CHECKOUT);
  const b = await post(httpPort, '/v1/check', CHECKOUT);
  t.equal(a.json.decision, 'allow');
  const id = a.json.decision_id as string;
  const token = a.headers.get('x-atp-hold-token');
  t.type(token, 'string', 'the checkout answer carries a hold token');

  const attempts: [string, unknown][] = [
    ['no token', { decision_id: id, skus: ['IN-STOCK'] }],
    [
      'another decision token',
      { decision_id: id, hold_token: b.headers.get('x-atp-hold-token'), skus: ['IN-STOCK'] },
    ],
    ['a forged token', { decision_id: id, hold_token: 'AAAAAAAAAAAAAAAAAAAAAA', skus: ['IN-STOCK'] }],
    ['a token of the wrong type', { decision_id: id, hold_token: 42, skus: ['IN-STOCK'] }],
  ];
  for (const [what, body] of attempts) {
    const r = await post(httpPort, '/v1/reservations/release', body);
    t.equal(r.status, 403, `${what}: 403`);
    t.equal(r.json.error.field, 'hold_token', `${what}: the field is named`);
    t.equal(r.json.error.code, 'ATP_ERR_HOLD_TOKEN_INVALID');
  }
  const wrongConfirm = await post(httpPort, '/v1/reservations/confirm', {
    decision_id: id,
    hold_token: 'AAAAAAAAAAAAAAAAAAAAAA',
    skus: ['IN-STOCK'],
  });
  t.equal(wrongConfirm.status, 403, 'a confirm with a wrong token is refused too');
  const ok = await post(httpPort, '/v1/reservations/release', {
    decision_id: id,
    hold_token: token,
    skus: ['IN-STOCK'],
  });
  t.same(ok.json, { decision_id: id, released: 1 }, 'the right token releases: the hold was still there');
});

t.test('tokens verify only under the key that signed them, in constant length', async (t) => {
  const key = Buffer.alloc(32, 7);
  const a = HoldTokens.fromKey(key);
  const same = HoldTokens.fromKey(Buffer.from(key));
  const other = HoldTokens.fromKey(Buffer.alloc(32, 8));
  const tok = a.sign('d-1');
  t.ok(same.verify('d-1', tok), 'a sidecar sharing the key verifies it');
  t.notOk(other.verify('d-1', tok), 'another key does not');
  t.notOk(a.verify('d-2', tok), 'nor another decision id');
  t.notOk(a.verify('d-1', tok.slice(0, -2)), 'nor a truncated token');
  t.throws(() => HoldTokens.fromKey(Buffer.alloc(8)), 'a short key is refused');
});

t.test('decision ids carry 96 random bits after a time prefix', async (t) => {
  const now = Date.now();
  const ids = Array.from({ length: 2_000 }, (_, i) => newDecisionId(now + Math.floor(i / 100)));
  t.equal(new Set(ids).size, ids.length, 'unique');
  for (const id of ids.slice(0, 50)) t.match(id, /^d-[0-9a-z]+-[A-Za-z0-9_-]{16}$/);
  const rnd = ids.map((id) => Buffer.from(id.split('-').slice(2).join('-'), 'base64url'));
  t.equal(rnd[0]!.length * 8, 96, '96 random bits');
  // Consecutive ids of one ms share no predictable part: bytes differ about everywhere.
  let same = 0;
  for (let i = 1; i < 100; i++) for (let b = 0; b < 12; b++) if (rnd[i]![b] === rnd[i - 1]![b]) same++;
  t.ok(same < 30, `consecutive ids share ${same} of 1188 bytes (a counter would share ~1100)`);
  const sorted = [...ids].sort((x, y) => (x.split('-')[1]! < y.split('-')[1]! ? -1 : 1));
  t.same(
    sorted.map((id) => id.split('-')[1]),
    ids.map((id) => id.split('-')[1]),
    'time-ordered by their prefix',
  );
});

t.test('a client aborting mid-body is counted as ATP_ERR_CLIENT_CLOSED, not internal', async (t) => {
  const sc = worldSidecar();
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());
  await new Promise<void>((resolve, reject) => {
    const s = connect(httpPort, '127.0.0.1', () => {
      s.write(
        'POST /v1/check HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"req',
      );
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 100);
    });
    s.on('error', reject);
  });
  let text = '';
  for (let i = 0; i < 50 && !text.includes('ATP_ERR_CLIENT_CLOSED'); i++) {
    await new Promise((r) => setTimeout(r, 50));
    text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  }
  t.match(text, /atp_errors_total\{code="ATP_ERR_CLIENT_CLOSED",edge="http"\} 1/);
  t.notMatch(text, /ATP_ERR_INTERNAL/, 'not an internal error');
});
