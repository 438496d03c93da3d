/**
 * The sidecar's hold token through the real filter (emulator): a checkout
 * allow's `x-atp-hold-token` reaches the checkout service so it can release
 * or confirm its hold; never on a deny, never from the decision cache, never
 * carried over to another request; a malformed one is dropped (and counted),
 * not a failure; a client cannot forge one.
 */
import t from 'tap';
import { HoldTokens } from '../../sidecar/src/adapters/http/hold-token.js';
import type { ClusterHandler, HeaderPairs } from '../../wasm-filter/emulator/index.js';
import {
  BASE_CONFIG,
  checkoutHeaders,
  type FakeSidecar,
  fakeSidecar,
  header,
  headersWithId,
  IN_STOCK_BODY,
  OUT_OF_STOCK_BODY,
  sendCheckout,
  startFilter,
} from './helpers/filter-harness.js';

const HOLD_TOKEN = 'x-atp-hold-token';
const SIGNER = HoldTokens.ephemeral();
/** A well-formed token no sidecar signed: what a client might try to slip through. */
const FORGED = 'AAAAAAAAAAAAAAAAAAAAAA';

type TokenFor = (decisionId: string) => string | undefined;

/**
 * The harness's fake sidecar (deny for SKUs starting OOS), its decision
 * answers carrying `tokenFor(decision id)` as x-atp-hold-token — on denies
 * too, which the real sidecar never does, to show the filter ignores them.
 */
function tokenSidecar(tokenFor: TokenFor = (id) => SIGNER.sign(id)): {
  sidecar: FakeSidecar;
  handler: ClusterHandler;
  sent: string[];
  state: { down: boolean };
} {
  const sidecar = fakeSidecar((r) => ({
    decision: r.items.every((i) => !i.sku.startsWith('OOS')) ? 'allow' : 'deny',
  }));
  const sent: string[] = [];
  const state = { down: false };
  const handler: ClusterHandler = async (call, signal) => {
    const isCheck = call.headers.some(([k, v]) => k === ':path' && v === '/v1/check');
    if (isCheck && state.down) return { status: 503, body: 'upstream connect error' };
    const answer = await sidecar.handler(call, signal);
    if (!isCheck || typeof answer !== 'object' || Array.isArray(answer.headers)) return answer;
    const headers = { ...(answer.headers as Record<string, string>) };
    const token = tokenFor(headers['x-atp-decision-id'] ?? '');
    if (token !== undefined) {
      headers[HOLD_TOKEN] = token;
      sent.push(token);
    }
    return { ...answer, headers };
  };
  return { sidecar, handler, sent, state };
}

function values(pairs: HeaderPairs, name: string): string[] {
  return pairs.filter(([k]) => k === name).map(([, v]) => v);
}

t.test('an enforced allow passes the sidecar hold token upstream, only its own', async (t) => {
  // The filter enforces; the sidecar signs each allow's decision id.
  const s = tokenSidecar();
  const vm = await startFilter({ sidecar: s.handler });
  t.teardown(() => vm.close());

  // Two allowed checkouts: each reaches the upstream with the token of its own decision.
  for (const [i, id] of ['r-1', 'r-2'].entries()) {
    const { state } = await sendCheckout(vm, IN_STOCK_BODY, headersWithId(id));
    if (state.kind !== 'continued') throw t.fail(`expected continued, got ${state.kind}`);
    t.equal(header(state.headers, 'x-atp-decision'), 'allow');
    const decisionId = header(state.headers, 'x-atp-decision-id') ?? '';
    t.equal(decisionId, `dec-${i + 1}`);
    t.same(values(state.headers, HOLD_TOKEN), [SIGNER.sign(decisionId)], `${id}: its own token, once`);
  }
  t.equal(vm.metrics.value('atp_filter.hold_tokens_dropped'), 0n);
  t.same(vm.traps, []);
});

t.test('a shadow allow passes the token; a shadow deny does not', async (t) => {
  // The route is in shadow mode; the sidecar sends a token with every answer.
  const s = tokenSidecar();
  const vm = await startFilter({
    sidecar: s.handler,
    config: { ...BASE_CONFIG, routes: [{ prefix: '/checkout', mode: 'shadow' }] },
  });
  t.teardown(() => vm.close());

  // shadow-allow: the upstream gets the token (its hold, if any, can be released).
  const allowed = await sendCheckout(vm, IN_STOCK_BODY, headersWithId('r-1'));
  if (allowed.state.kind !== 'continued') throw t.fail(`expected continued, got ${allowed.state.kind}`);
  t.equal(header(allowed.state.headers, 'x-atp-decision'), 'shadow-allow');
  t.equal(header(allowed.state.headers, HOLD_TOKEN), SIGNER.sign('dec-1'));

  // shadow-deny continues too, but a deny holds nothing: no token.
  const denied = await sendCheckout(vm, OUT_OF_STOCK_BODY, headersWithId('r-2'));
  if (denied.state.kind !== 'continued') throw t.fail(`expected continued, got ${denied.state.kind}`);
  t.equal(header(denied.state.headers, 'x-atp-decision'), 'shadow-deny');
  t.equal(header(denied.state.headers, HOLD_TOKEN), undefined);
  t.equal(s.sent.length, 2, 'the sidecar did send one with the deny');
});

t.test('an enforced deny replies 409 without the token', async (t) => {
  // The sidecar denies and (unlike the real one) attaches a token anyway.
  const s = tokenSidecar();
  const vm = await startFilter({ sidecar: s.handler });
  t.teardown(() => vm.close());

  // The client gets the 409 with the decision id, never a token; the upstream sees nothing.
  const { stream, state } = await sendCheckout(vm, OUT_OF_STOCK_BODY);
  if (state.kind !== 'local-reply') throw t.fail(`expected a local reply, got ${state.kind}`);
  t.equal(state.status, 409);
  t.equal(header(state.headers, 'x-atp-decision-id'), 'dec-1');
  t.equal(header(state.headers, HOLD_TOKEN), undefined);
  t.notMatch(Buffer.from(state.body).toString('utf8'), s.sent[0] ?? 'no token sent', 'nor in the body');
  t.equal(stream.upstreamRequest.headers, undefined);
});

t.test('a token is never served from the decision cache nor left over for the next request', async (t) => {
  // An allow with a token, then an allow whose answer carries none.
  let withToken = true;
  const s = tokenSidecar((id) => (withToken ? SIGNER.sign(id) : undefined));
  const vm = await startFilter({ sidecar: s.handler });
  t.teardown(() => vm.close());
  const first = await sendCheckout(vm, IN_STOCK_BODY, headersWithId('r-1'));
  t.ok(first.state.kind === 'continued' && header(first.state.headers, HOLD_TOKEN), 'the first has one');
  withToken = false;
  const second = await sendCheckout(vm, IN_STOCK_BODY, headersWithId('r-2'));
  if (second.state.kind !== 'continued') throw t.fail(`expected continued, got ${second.state.kind}`);
  t.equal(header(second.state.headers, 'x-atp-decision-id'), 'dec-2');
  t.equal(header(second.state.headers, HOLD_TOKEN), undefined, 'the previous answer’s token is not reused');

  // The sidecar goes down: the cached allow stands in, degraded, with no token (it holds nothing).
  withToken = true;
  s.state.down = true;
  const cached = await sendCheckout(vm, IN_STOCK_BODY, headersWithId('r-3'));
  if (cached.state.kind !== 'continued') throw t.fail(`expected continued, got ${cached.state.kind}`);
  t.equal(header(cached.state.headers, 'x-atp-reason'), 'CACHED_DECISION');
  t.equal(header(cached.state.headers, 'x-atp-decision-id'), 'flt-r-3');
  t.equal(header(cached.state.headers, HOLD_TOKEN), undefined);
  t.equal(vm.metrics.value('atp_filter.degraded_cached_decision'), 1n);
});

t.test('a hold token sent by the client is stripped, whatever the outcome', async (t) => {
  // The filter enforces on /checkout and shadows /checkout/shadow; the sidecar's allows carry tokens.
  const s = tokenSidecar();
  const vm = await startFilter({
    sidecar: s.handler,
    config: {
      ...BASE_CONFIG,
      routes: [
        { prefix: '/checkout/shadow', mode: 'shadow' },
        { prefix: '/checkout', mode: 'enforce' },
      ],
    },
  });
  t.teardown(() => vm.close());
  const forged = (path = '/checkout'): HeaderPairs => [...checkoutHeaders([], path), [HOLD_TOKEN, FORGED]];

  // On an allow the upstream gets the sidecar's token alone.
  const allowed = await sendCheckout(vm, IN_STOCK_BODY, forged());
  if (allowed.state.kind !== 'continued') throw t.fail(`expected continued, got ${allowed.state.kind}`);
  t.same(values(allowed.state.headers, HOLD_TOKEN), [SIGNER.sign('dec-1')]);

  // On a shadow deny and on a GET the forged token is simply gone.
  const denied = await sendCheckout(vm, OUT_OF_STOCK_BODY, forged('/checkout/shadow'));
  if (denied.state.kind !== 'continued') throw t.fail(`expected continued, got ${denied.state.kind}`);
  t.equal(header(denied.state.headers, 'x-atp-decision'), 'shadow-deny');
  t.same(values(denied.state.headers, HOLD_TOKEN), []);
  const get = vm.newHttpStream();
  const got = get.requestHeaders(
    forged().map(([k, v]): [string, string] => (k === ':method' ? [k, 'GET'] : [k, v])),
    true,
  );
  if (got.kind !== 'continued') throw t.fail(`expected continued, got ${got.kind}`);
  t.same(values(got.headers, HOLD_TOKEN), []);

  // An allow whose sidecar answer has no token passes none either.
  const bare = tokenSidecar(() => undefined);
  const vm2 = await startFilter({ sidecar: bare.handler });
  t.teardown(() => vm2.close());
  const noToken = await sendCheckout(vm2, IN_STOCK_BODY, forged());
  if (noToken.state.kind !== 'continued') throw t.fail(`expected continued, got ${noToken.state.kind}`);
  t.equal(header(noToken.state.headers, 'x-atp-decision'), 'allow');
  t.same(values(noToken.state.headers, HOLD_TOKEN), []);
  t.same(vm.traps, []);
});

t.test('a malformed hold token from the sidecar is dropped and counted; the allow stands', async (t) => {
  const good = SIGNER.sign('dec-x');
  const malformed: Array<[string, string]> = [
    ['empty', ''],
    ['one character short', good.slice(0, -1)],
    ['one character long', `${good}A`],
    ['padded base64', `${Buffer.alloc(16, 7).toString('base64')}`],
    ['standard base64 alphabet', `${'+/'.repeat(10)}AA`],
    ['non-canonical last character', `${good.slice(0, -1)}B`],
    ['a space inside', `${good.slice(0, 10)} ${good.slice(11)}`],
    ['a comma list of two', `${good},${good}`],
    ['non-ASCII', `${good.slice(0, -2)}é`],
    ['very long', 'A'.repeat(4000)],
  ];
  // One sidecar answer per case, in order.
  let next = 0;
  const s = tokenSidecar(() => malformed[next++]?.[1]);
  const vm = await startFilter({ sidecar: s.handler });
  t.teardown(() => vm.close());

  for (const [i, [what]] of malformed.entries()) {
    const { state } = await sendCheckout(vm, IN_STOCK_BODY, headersWithId(`r-${i}`));
    if (state.kind !== 'continued') throw t.fail(`${what}: expected continued, got ${state.kind}`);
    t.equal(header(state.headers, 'x-atp-decision'), 'allow', `${what}: still an allow`);
    t.equal(header(state.headers, HOLD_TOKEN), undefined, `${what}: dropped`);
  }
  t.equal(vm.metrics.value('atp_filter.hold_tokens_dropped'), BigInt(malformed.length));
  t.equal(vm.metrics.value('atp_filter.sidecar_failures'), 0n, 'none counted as a sidecar failure');
  t.same(vm.traps, []);

  // Sanity: a canonical token of every final character the encoding allows passes.
  for (const last of ['A', 'Q', 'g', 'w']) {
    const vm2 = await startFilter({ sidecar: tokenSidecar(() => `${good.slice(0, -1)}${last}`).handler });
    const { state } = await sendCheckout(vm2, IN_STOCK_BODY);
    t.equal(state.kind === 'continued' && header(state.headers, HOLD_TOKEN), `${good.slice(0, -1)}${last}`);
    vm2.close();
  }
});

t.test('random token values never trap the filter; only canonical tokens pass, unchanged', async (t) => {
  // A seeded generator: mostly near-misses of a real token (one byte changed, cut, extended), some noise.
  let seed = 0x5eed;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. ,é\u0001\u00ff';
  const candidate = (): string => {
    const base = SIGNER.sign(`dec-${rnd(1_000_000)}`);
    const chars = [...base];
    const kind = rnd(4);
    if (kind === 0) chars[rnd(chars.length)] = ALPHABET[rnd(ALPHABET.length)] ?? 'A';
    else if (kind === 1) chars.length = rnd(chars.length + 1);
    else if (kind === 2) for (let i = rnd(4); i >= 0; i--) chars.push(ALPHABET[rnd(ALPHABET.length)] ?? 'A');
    else return Array.from({ length: rnd(40) }, () => ALPHABET[rnd(ALPHABET.length)]).join('');
    return chars.join('');
  };
  const CANONICAL = /^[A-Za-z0-9_-]{21}[AQgw]$/;
  const sent: string[] = [];
  const s = tokenSidecar(() => {
    const v = candidate();
    sent.push(v);
    return v;
  });
  const vm = await startFilter({ sidecar: s.handler });
  t.teardown(() => vm.close());

  const wrong: string[] = [];
  let passed = 0;
  for (let i = 0; i < 400; i++) {
    const { state } = await sendCheckout(vm, IN_STOCK_BODY, headersWithId(`r-${i}`));
    const value = sent[i] ?? '';
    const got = state.kind === 'continued' ? header(state.headers, HOLD_TOKEN) : 'not continued';
    const want = CANONICAL.test(value) ? value : undefined;
    if (got !== want) wrong.push(`#${i} ${JSON.stringify(value)} -> ${JSON.stringify(got)}`);
    if (want !== undefined) passed++;
  }
  t.same(wrong, [], 'each allow continued, with the token exactly when it is canonical');
  t.ok(passed > 20 && passed < 380, `both kinds were drawn (${passed} canonical of 400)`);
  t.equal(vm.metrics.value('atp_filter.hold_tokens_dropped'), BigInt(400 - passed));
  t.same(vm.traps, []);
});
