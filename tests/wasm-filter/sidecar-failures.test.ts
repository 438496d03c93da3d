import t, { type Test } from 'tap';
import { type ClusterHandler, DROP_CALLBACK, type StreamState } from '../../wasm-filter/emulator/index.js';
import {
  BASE_CONFIG,
  checkoutHeaders,
  header,
  IN_STOCK_BODY,
  replyJson,
  SIDECAR_CLUSTER,
  sendCheckout,
  slowSidecar,
  startFilter,
  stockSidecar,
} from './helpers/filter-harness.js';

/** How late a timed-out request may be answered, beyond timeout_ms, on a loaded test machine. */
const ANSWER_SLACK_MS = 250;

function expectRetryable503(t: Test, state: StreamState): void {
  if (state.kind !== 'local-reply') throw t.fail(`expected a local reply, got ${state.kind}`);
  t.equal(state.status, 503);
  t.same(replyJson(state), { error: 'atp_unavailable', retryable: true });
  t.equal(header(state.headers, 'retry-after'), '1');
  t.equal(header(state.headers, 'x-atp-degraded'), 'sidecar');
  t.equal(header(state.headers, 'content-type'), 'application/json');
}

t.test('a sidecar timeout is answered 503 retryable within the budget', async (t) => {
  // Start the filter with a sidecar that never answers: the host's call timeout (25 ms) fires and,
  // as in Envoy, the callback carries the router's 504.
  const vm = await startFilter({ sidecar: slowSidecar(Number.POSITIVE_INFINITY, { status: 200 }) });
  t.teardown(() => vm.close());

  // Send a checkout and time the answer.
  const started = performance.now();
  const { stream, state } = await sendCheckout(vm, IN_STOCK_BODY);
  const elapsedMs = performance.now() - started;

  // 503, retryable, shortly after the 25 ms timeout; the call is recorded as timed out.
  expectRetryable503(t, state);
  t.ok(elapsedMs < BASE_CONFIG.timeout_ms + ANSWER_SLACK_MS, `answered after ${Math.round(elapsedMs)} ms`);
  t.equal(vm.httpCalls[0]?.outcome, 'timeout');
  t.equal(stream.localReplyRequests, 1);
  t.equal(vm.metrics.value('atp_filter.sidecar_unavailable'), 1n);
  t.same(vm.traps, []);
});

t.test('a timeout delivered as a stream reset (no headers) is answered the same', async (t) => {
  // Start the filter on a host that reports the timeout as Envoy's onHttpCallFailure does (headers = 0).
  const vm = await startFilter({
    sidecar: slowSidecar(Number.POSITIVE_INFINITY, { status: 200 }),
    httpCallFailures: 'reset',
  });
  t.teardown(() => vm.close());

  // The filter treats the missing response as a sidecar failure.
  const { state } = await sendCheckout(vm, IN_STOCK_BODY);
  expectRetryable503(t, state);
  t.same(vm.traps, []);
});

t.test('sidecar errors are answered 503 retryable', async (t) => {
  const failures: Array<{ why: string; handler: ClusterHandler }> = [
    {
      why: 'connection reset',
      handler: () => {
        throw new Error('ECONNRESET');
      },
    },
    { why: 'HTTP 500', handler: () => ({ status: 500, body: 'boom' }) },
    {
      why: '200 without a decision header',
      handler: () => ({ status: 200, headers: { 'x-atp-decision-id': 'd1' } }),
    },
    {
      why: '200 with an unknown decision',
      handler: () => ({ status: 200, headers: { 'x-atp-decision': 'maybe', 'x-atp-decision-id': 'd1' } }),
    },
    {
      why: '200 allow without a decision id',
      handler: () => ({ status: 200, headers: { 'x-atp-decision': 'allow' } }),
    },
    {
      why: '200 allow with a malformed decision id',
      handler: () => ({
        status: 200,
        headers: { 'x-atp-decision': 'allow', 'x-atp-decision-id': 'd 1\r\nx: y' },
      }),
    },
  ];
  for (const failure of failures) {
    // Start the filter with the failing sidecar.
    const vm = await startFilter({ sidecar: failure.handler });

    // Every failure becomes the same retryable 503, never an allow.
    const { state } = await sendCheckout(vm, IN_STOCK_BODY);
    t.equal(state.kind, 'local-reply', failure.why);
    expectRetryable503(t, state);
    t.same(vm.traps, [], `${failure.why}: no trap`);
    vm.close();
  }
});

t.test('a call that cannot be dispatched is answered 503 at once', async (t) => {
  // Start the filter pointing at a cluster the host does not know: proxy_http_call answers BadArgument.
  const vm = await startFilter({ config: { ...BASE_CONFIG, sidecar_cluster: 'no-such-cluster' } });
  t.teardown(() => vm.close());

  // The reply comes synchronously, from the body hook itself.
  const stream = vm.newHttpStream();
  stream.requestHeaders(checkoutHeaders(), false);
  const state = stream.requestBody(IN_STOCK_BODY, true);
  expectRetryable503(t, state);
  t.equal(vm.httpCalls.length, 0);
  t.ok(vm.logs.some((l) => l.level === 'warn' && /not dispatched \(result 2\)/.test(l.message)));
});

t.test('a callback that never comes is answered by the tick', async (t) => {
  // Start the filter on a fake clock, with a sidecar whose callback the host loses.
  let nowMs = 1_700_000_000_000;
  const vm = await startFilter({ now: () => nowMs, sidecar: () => DROP_CALLBACK });
  t.teardown(() => vm.close());
  t.equal(vm.tickPeriodMs, 20, 'the filter asked for a 20 ms tick');

  // Send a checkout: it pauses on the sidecar call, which the host then drops.
  const stream = vm.newHttpStream();
  stream.requestHeaders(checkoutHeaders(), false);
  stream.requestBody(IN_STOCK_BODY, true);
  await vm.idle();
  t.equal(vm.httpCalls[0]?.outcome, 'dropped');

  // A tick before the deadline (timeout 25 ms + slack 30 ms) leaves it paused.
  nowMs += 40;
  vm.tick();
  t.equal(stream.state.kind, 'paused');

  // A tick after the deadline answers it: 503 retryable.
  nowMs += 20;
  vm.tick();
  expectRetryable503(t, stream.state);
  t.equal(vm.metrics.value('atp_filter.sidecar_deadline_expired'), 1n);

  // Further ticks do nothing more.
  nowMs += 100;
  vm.tick();
  t.equal(stream.localReplyRequests, 1);
  t.same(vm.traps, []);
});

t.test('a late callback after the tick answered changes nothing', async (t) => {
  // Start the filter on a fake clock, with a sidecar that answers only when told to.
  let nowMs = 1_700_000_000_000;
  let release: (() => void) | undefined;
  const sidecar = stockSidecar();
  const vm = await startFilter({
    now: () => nowMs,
    sidecar: (call, signal) =>
      new Promise((resolve) => {
        release = () => resolve(sidecar.handler(call, signal));
      }),
    config: { ...BASE_CONFIG, timeout_ms: 10000 },
  });
  t.teardown(() => vm.close());

  // The request pauses; the tick answers it once its deadline has passed.
  const stream = vm.newHttpStream();
  stream.requestHeaders(checkoutHeaders(), false);
  stream.requestBody(IN_STOCK_BODY, true);
  await new Promise(setImmediate);
  t.ok(release, 'the sidecar has the call');
  nowMs += 10_000 + 100;
  vm.tick();
  expectRetryable503(t, stream.state);

  // The sidecar finally answers allow: the stream keeps its single 503.
  release?.();
  await vm.idle();
  t.equal(stream.state.kind, 'local-reply');
  t.equal(stream.localReplyRequests, 1, 'still one local reply');
  t.same(vm.traps, []);
});

t.test('a stream that ends while its call is in flight is forgotten cleanly', async (t) => {
  // Start the filter with a sidecar that answers after 5 ms.
  const vm = await startFilter({
    sidecar: slowSidecar(5, {
      status: 200,
      headers: { 'x-atp-decision': 'allow', 'x-atp-decision-id': 'd1' },
    }),
  });
  t.teardown(() => vm.close());

  // The client goes away while the sidecar thinks.
  const stream = vm.newHttpStream();
  stream.requestHeaders(checkoutHeaders(), false);
  stream.requestBody(IN_STOCK_BODY, true);
  stream.end();

  // The answer arrives for a stream that no longer exists: ignored, no trap.
  await vm.idle();
  t.equal(vm.httpCalls[0]?.outcome, 'response');
  t.equal(stream.state.kind, 'reset');
  t.same(vm.traps, []);
});

t.test('in shadow mode a sidecar failure annotates and continues', async (t) => {
  // Start the filter in shadow mode with a failing sidecar.
  const vm = await startFilter({
    config: { ...BASE_CONFIG, routes: [{ prefix: '/checkout', mode: 'shadow' }] },
    sidecar: () => ({ status: 503 }),
  });
  t.teardown(() => vm.close());

  // The request continues, marked as unavailable.
  const { state } = await sendCheckout(vm, IN_STOCK_BODY);
  if (state.kind !== 'continued') throw t.fail(`expected continued, got ${state.kind}`);
  t.equal(header(state.headers, 'x-atp-decision'), 'shadow-unavailable');
  t.equal(header(state.headers, 'x-atp-degraded'), 'sidecar');
  t.equal(vm.httpCalls[0]?.cluster, SIDECAR_CLUSTER);
});
