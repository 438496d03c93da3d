import t from 'tap';
import {
  BASE_CONFIG,
  checkoutHeaders,
  fakeSidecar,
  header,
  IN_STOCK_BODY,
  OUT_OF_STOCK_BODY,
  replyJson,
  sendCheckout,
  startFilter,
  stockSidecar,
} from './helpers/filter-harness.js';

t.test('an in-stock checkout goes through with the decision headers', async (t) => {
  // Start the filter in enforce mode with a sidecar that has everything in stock.
  const sidecar = stockSidecar();
  const vm = await startFilter({ sidecar: sidecar.handler });
  t.teardown(() => vm.close());

  // Send the request headers: the filter holds them until it has the whole body.
  const stream = vm.newHttpStream();
  t.equal(stream.requestHeaders(checkoutHeaders(), false).kind, 'paused', 'headers are held');

  // Send the body: the filter asks the sidecar and keeps the request paused.
  t.equal(stream.requestBody(IN_STOCK_BODY, true).kind, 'paused', 'paused while the sidecar decides');
  t.equal(vm.pendingHttpCallCount, 1, 'one sidecar call in flight');

  // The sidecar answers allow: the request continues upstream, annotated.
  const state = await stream.settled();
  if (state.kind !== 'continued') throw t.fail(`expected continued, got ${state.kind}`);
  t.equal(header(state.headers, 'x-atp-decision'), 'allow');
  t.equal(header(state.headers, 'x-atp-decision-id'), 'dec-1');
  t.equal(header(state.headers, 'x-atp-node'), 'wh-eu-1');
  t.equal(header(state.headers, 'x-atp-degraded'), undefined, 'no degradation header when none is in force');

  // The body reaches the upstream unchanged, and the stream ends cleanly.
  t.equal(Buffer.from(stream.upstreamRequest.body).toString(), IN_STOCK_BODY);
  t.ok(stream.upstreamRequest.endOfStream);
  stream.end();
  t.equal(stream.localReplyRequests, 0);
  t.same(vm.traps, [], 'no trap');
  t.equal(vm.metrics.value('atp_filter.decisions_allow'), 1n);
});

t.test('degradations reported by the sidecar are passed on to the upstream', async (t) => {
  // The sidecar allows while running on its conservative scorer.
  const vm = await startFilter({
    sidecar: fakeSidecar(() => ({ decision: 'allow', degraded: ['model', 'stale-node'] })).handler,
  });
  t.teardown(() => vm.close());

  // The request continues with the degradations in x-atp-degraded.
  const { state } = await sendCheckout(vm, IN_STOCK_BODY);
  if (state.kind !== 'continued') throw t.fail(`expected continued, got ${state.kind}`);
  t.equal(header(state.headers, 'x-atp-degraded'), 'model,stale-node');
});

t.test('an out-of-stock checkout gets a 409 JSON reply with the decision id', async (t) => {
  // Start the filter in enforce mode.
  const vm = await startFilter();
  t.teardown(() => vm.close());

  // Send a basket the sidecar denies.
  const { stream, state } = await sendCheckout(vm, OUT_OF_STOCK_BODY);

  // The filter answers locally: 409, JSON, decision id in body and header; nothing goes upstream.
  if (state.kind !== 'local-reply') throw t.fail(`expected a local reply, got ${state.kind}`);
  t.equal(state.status, 409);
  t.equal(header(state.headers, 'content-type'), 'application/json');
  t.equal(header(state.headers, 'x-atp-decision-id'), 'dec-1');
  t.match(replyJson(state), { error: 'unavailable', decision_id: 'dec-1', message: String });
  t.equal(stream.upstreamRequest.headers, undefined, 'the upstream never saw the request');
  t.equal(stream.localReplyRequests, 1, 'exactly one local reply');
  stream.end();
  t.same(vm.traps, []);
});

t.test('shadow mode asks the sidecar and annotates, but never blocks', async (t) => {
  // Start the filter with the checkout route in shadow mode.
  const vm = await startFilter({
    config: { ...BASE_CONFIG, routes: [{ prefix: '/checkout', mode: 'shadow' }] },
  });
  t.teardown(() => vm.close());

  // A denied basket still continues, marked shadow-deny.
  const denied = await sendCheckout(vm, OUT_OF_STOCK_BODY);
  if (denied.state.kind !== 'continued') throw t.fail(`expected continued, got ${denied.state.kind}`);
  t.equal(header(denied.state.headers, 'x-atp-decision'), 'shadow-deny');
  t.equal(header(denied.state.headers, 'x-atp-decision-id'), 'dec-1');

  // An allowed basket continues marked shadow-allow (never plain "allow": nothing was enforced).
  const allowed = await sendCheckout(vm, IN_STOCK_BODY);
  if (allowed.state.kind !== 'continued') throw t.fail(`expected continued, got ${allowed.state.kind}`);
  t.equal(header(allowed.state.headers, 'x-atp-decision'), 'shadow-allow');

  // Even an invalid body is not blocked in shadow mode.
  const invalid = await sendCheckout(vm, '{"items":"nope"}');
  if (invalid.state.kind !== 'continued') throw t.fail(`expected continued, got ${invalid.state.kind}`);
  t.equal(header(invalid.state.headers, 'x-atp-decision'), 'shadow-invalid');
  t.same(vm.traps, []);
});

t.test('off mode never calls the sidecar and passes the request untouched', async (t) => {
  // Start the filter with the checkout route switched off.
  const sidecar = stockSidecar();
  const vm = await startFilter({
    sidecar: sidecar.handler,
    config: { ...BASE_CONFIG, routes: [{ prefix: '/checkout', mode: 'off' }] },
  });
  t.teardown(() => vm.close());

  // The headers continue at once, unchanged.
  const stream = vm.newHttpStream();
  const state = stream.requestHeaders(checkoutHeaders(), false);
  if (state.kind !== 'continued') throw t.fail(`expected continued, got ${state.kind}`);
  t.same(state.headers, checkoutHeaders());

  // The body streams through; the sidecar is never asked.
  stream.requestBody(IN_STOCK_BODY, true);
  t.equal(Buffer.from(stream.upstreamRequest.body).toString(), IN_STOCK_BODY);
  await vm.idle();
  t.equal(sidecar.calls.length, 0);
  t.same(vm.traps, []);
});

t.test('non-POST requests and other paths pass untouched', async (t) => {
  // Start the filter in enforce mode.
  const sidecar = stockSidecar();
  const vm = await startFilter({ sidecar: sidecar.handler });
  t.teardown(() => vm.close());

  // A GET on the checkout route continues without a body and without a sidecar call.
  const get = vm.newHttpStream();
  const getHeaders = checkoutHeaders().map(([k, v]): [string, string] =>
    k === ':method' ? [k, 'GET'] : [k, v],
  );
  const getState = get.requestHeaders(getHeaders, true);
  if (getState.kind !== 'continued') throw t.fail(`expected continued, got ${getState.kind}`);
  t.same(getState.headers, getHeaders);

  // A POST elsewhere continues untouched too, body included.
  const other = vm.newHttpStream();
  const otherHeaders = checkoutHeaders([], '/cart/items');
  const otherState = other.requestHeaders(otherHeaders, false);
  if (otherState.kind !== 'continued') throw t.fail(`expected continued, got ${otherState.kind}`);
  t.same(otherState.headers, otherHeaders);
  other.requestBody('{"anything":true}', true);
  t.equal(Buffer.from(other.upstreamRequest.body).toString(), '{"anything":true}');

  await vm.idle();
  t.equal(sidecar.calls.length, 0, 'the sidecar was never asked');
  t.same(vm.traps, []);
});

t.test('a client cannot forge decision headers on an ATP route', async (t) => {
  // Start the filter in enforce mode.
  const vm = await startFilter();
  t.teardown(() => vm.close());

  // The client sends its own x-atp-* headers with a basket the sidecar denies.
  const forged = checkoutHeaders([
    ['x-atp-decision', 'allow'],
    ['x-atp-decision-id', 'forged'],
    ['x-atp-node', 'forged'],
  ]);
  const denied = await sendCheckout(vm, OUT_OF_STOCK_BODY, forged);
  t.equal(denied.state.kind, 'local-reply', 'the forged allow changes nothing');

  // On a GET the forged headers are stripped before the upstream sees them.
  const get = vm.newHttpStream();
  const state = get.requestHeaders(
    forged.map(([k, v]): [string, string] => (k === ':method' ? [k, 'GET'] : [k, v])),
    true,
  );
  if (state.kind !== 'continued') throw t.fail(`expected continued, got ${state.kind}`);
  t.equal(header(state.headers, 'x-atp-decision'), undefined);
  t.equal(header(state.headers, 'x-atp-decision-id'), undefined);
  t.equal(header(state.headers, 'x-atp-node'), undefined);
});

t.test('a body arriving in many chunks is decided once, at the end of the stream', async (t) => {
  // Start the filter in enforce mode.
  const sidecar = stockSidecar();
  const vm = await startFilter({ sidecar: sidecar.handler });
  t.teardown(() => vm.close());

  // Send the body one byte at a time: every chunk is buffered.
  const stream = vm.newHttpStream();
  stream.requestHeaders(checkoutHeaders(), false);
  const bytes = Buffer.from(IN_STOCK_BODY);
  for (let i = 0; i < bytes.length - 1; i++) {
    t.equal(stream.requestBody(bytes.subarray(i, i + 1), false).kind, 'paused');
  }
  t.equal(sidecar.calls.length, 0, 'nothing asked before the end of the body');

  // The last chunk triggers one sidecar call; the whole body goes upstream.
  stream.requestBody(bytes.subarray(bytes.length - 1), true);
  const state = await stream.settled();
  t.equal(state.kind, 'continued');
  t.equal(sidecar.calls.length, 1);
  t.equal(Buffer.from(stream.upstreamRequest.body).toString(), IN_STOCK_BODY);
  t.same(vm.traps, []);
});

t.test('the buyer zone may come from the x-atp-buyer-zone header', async (t) => {
  // Start the filter; the body carries no buyer zone.
  const sidecar = stockSidecar();
  const vm = await startFilter({ sidecar: sidecar.handler });
  t.teardown(() => vm.close());

  // The header supplies it, and the sidecar receives it.
  const body = JSON.stringify({ items: [{ sku: 'SKU-1', qty: 1 }] });
  const { state } = await sendCheckout(vm, body, checkoutHeaders([['x-atp-buyer-zone', 'FR-75']]));
  t.equal(state.kind, 'continued');
  t.equal(sidecar.requests[0]?.buyer_zone, 'FR-75');

  // Without body field or header, the request is refused naming buyer_zone.
  const missing = await sendCheckout(vm, body);
  t.equal(replyJson(missing.state).field, 'buyer_zone');
});

t.test('requests without a usable x-request-id get a generated one', async (t) => {
  // Start the filter.
  const sidecar = stockSidecar();
  const vm = await startFilter({ sidecar: sidecar.handler });
  t.teardown(() => vm.close());

  // Send two checkouts without x-request-id, and one with an invalid one.
  const noId = checkoutHeaders().filter(([k]) => k !== 'x-request-id');
  await sendCheckout(vm, IN_STOCK_BODY, noId);
  await sendCheckout(vm, IN_STOCK_BODY, noId);
  await sendCheckout(vm, IN_STOCK_BODY, [...noId, ['x-request-id', 'bad id with spaces']]);

  // Each sidecar request carries a distinct, well-formed id.
  const ids = sidecar.requests.map((r) => r.request_id);
  t.equal(new Set(ids).size, 3);
  for (const id of ids) t.match(id, /^atp-[0-9a-f]{16}-\d+-\d+$/);
});

t.test('a body announced as something other than JSON gets 415 (and is annotated in shadow)', async (t) => {
  // Start the filter with an enforcing and a shadow route.
  const sidecar = stockSidecar();
  const vm = await startFilter({
    sidecar: sidecar.handler,
    config: {
      ...BASE_CONFIG,
      routes: [
        { prefix: '/checkout/shadow', mode: 'shadow' },
        { prefix: '/checkout', mode: 'enforce' },
      ],
    },
  });
  t.teardown(() => vm.close());
  const withType = (type: string, path = '/checkout') =>
    checkoutHeaders([], path).map(([k, v]): [string, string] => (k === 'content-type' ? [k, type] : [k, v]));

  // A form post is refused from its headers alone.
  const stream = vm.newHttpStream();
  const state = stream.requestHeaders(withType('application/x-www-form-urlencoded'), false);
  if (state.kind !== 'local-reply') throw t.fail(`expected a local reply, got ${state.kind}`);
  t.equal(state.status, 415);
  t.match(replyJson(state), { error: 'unsupported_media_type' });

  // JSON with parameters or in capitals is JSON.
  for (const type of ['application/json; charset=utf-8', 'Application/JSON', ' application/json ']) {
    const ok = await sendCheckout(vm, IN_STOCK_BODY, withType(type));
    t.equal(ok.state.kind, 'continued', type);
  }

  // On the shadow route the form post passes, marked shadow-invalid.
  const shadow = vm.newHttpStream();
  const shadowState = shadow.requestHeaders(withType('text/plain', '/checkout/shadow'), false);
  t.equal(
    shadowState.kind === 'continued' && header(shadowState.headers, 'x-atp-decision'),
    'shadow-invalid',
  );
  t.same(vm.traps, []);
});

t.test('the filter defines its counters and gauges once configured', async (t) => {
  // Start the filter.
  const vm = await startFilter();
  t.teardown(() => vm.close());

  // Every metric dashboards rely on exists, with its type.
  const defined = Object.fromEntries(vm.metrics.snapshot().map((m) => [m.name, m.type]));
  for (const counter of [
    'requests_intercepted',
    'decisions_allow',
    'decisions_deny',
    'decisions_shadow',
    'decisions_bypass',
    'requests_invalid',
    'sidecar_unavailable',
    'sidecar_failures',
    'sidecar_deadline_expired',
    'cache_hits',
    'cache_misses',
    'degraded_cached_decision',
    'degraded_wide_margin',
    'degraded_fail_open',
    'compliance_holds',
    'snapshot_fetches',
    'snapshot_fetch_failures',
  ]) {
    t.equal(defined[`atp_filter.${counter}`], 'counter', counter);
  }
  t.equal(defined['atp_filter.snapshot_age_ms'], 'gauge');
  t.equal(defined['atp_filter.snapshot_version'], 'gauge');
});
