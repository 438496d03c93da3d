import t from 'tap';
import { SharedDataStore } from '../../wasm-filter/emulator/index.js';
import {
  BASE_CONFIG,
  FakeClock,
  fakeSidecar,
  header,
  headersWithId,
  replyJson,
  sendCheckout,
  startFilter,
} from './helpers/filter-harness.js';

const withId = headersWithId;
const basket = (items: Array<[string, number]>, zone = 'DE-10') =>
  JSON.stringify({ items: items.map(([sku, qty]) => ({ sku, qty })), buyer_zone: zone });

/**
 * A sidecar that can be broken on demand (answering 503, as Envoy reports a
 * failed connection), allowing every basket with the given units_p10 per SKU.
 */
function breakableSidecar(unitsBySku: Record<string, number> = {}, deny: string[] = []) {
  const state = { down: false };
  const sidecar = fakeSidecar((r) => ({
    decision: r.items.some((i) => deny.includes(i.sku)) ? 'deny' : 'allow',
    unitsP10: r.items.map((i) => unitsBySku[i.sku] ?? 0),
  }));
  const handler: typeof sidecar.handler = (call, signal) =>
    state.down && !call.headers.some(([k, v]) => k === ':method' && v === 'GET')
      ? { status: 503, body: 'upstream connect error' }
      : sidecar.handler(call, signal);
  return { state, sidecar, handler };
}

t.test('a cached allow younger than cache_ttl_ms stands in when the sidecar fails', async (t) => {
  // The sidecar allows a basket, then goes down.
  const clock = new FakeClock();
  const s = breakableSidecar();
  const vm = await startFilter({ sidecar: s.handler, now: clock.now });
  t.teardown(() => vm.close());
  await sendCheckout(vm, basket([['A', 1]]), withId('r-1'));
  s.state.down = true;

  // The same basket 5 s later: allowed from the cache, flagged degraded, with a decision id of the filter's own.
  clock.advance(5000);
  const { state } = await sendCheckout(vm, basket([['A', 1]]), withId('r-2'));
  if (state.kind !== 'continued') throw t.fail(`expected continued, got ${state.kind}`);
  t.equal(header(state.headers, 'x-atp-decision'), 'allow');
  t.equal(header(state.headers, 'x-atp-degraded'), 'sidecar');
  t.equal(header(state.headers, 'x-atp-reason'), 'CACHED_DECISION');
  t.equal(header(state.headers, 'x-atp-decision-id'), 'flt-r-2');
  t.equal(vm.metrics.value('atp_filter.degraded_cached_decision'), 1n);
  t.equal(vm.metrics.value('atp_filter.sidecar_failures'), 1n);

  // Past the TTL (10 s) nothing stands in: 503 retryable.
  clock.advance(5001);
  const late = await sendCheckout(vm, basket([['A', 1]]), withId('r-3'));
  t.equal(late.state.kind === 'local-reply' && late.state.status, 503);
});

t.test('a cached deny stands in as a degraded 409 when the sidecar fails', async (t) => {
  // No fast path, so the cached deny is used only on failure.
  const s = breakableSidecar({}, ['OOS']);
  const vm = await startFilter({ sidecar: s.handler, config: { ...BASE_CONFIG, deny_fast_path_ttl_ms: 0 } });
  t.teardown(() => vm.close());
  await sendCheckout(vm, basket([['OOS', 1]]), withId('r-1'));
  s.state.down = true;

  // 409 with reason CACHED_DECISION and x-atp-degraded: sidecar.
  const { state } = await sendCheckout(vm, basket([['OOS', 1]]), withId('r-2'));
  if (state.kind !== 'local-reply') throw t.fail(`expected a local reply, got ${state.kind}`);
  t.equal(state.status, 409);
  t.equal(replyJson(state).reason, 'CACHED_DECISION');
  t.equal(header(state.headers, 'x-atp-degraded'), 'sidecar');
});

t.test('a wide last-known margin allows during an outage, and the allows spend it', async (t) => {
  // The sidecar reports units_p10 = 40 for A in zone DE-10, then goes down. wide_margin_units is 25.
  const s = breakableSidecar({ A: 40 });
  const vm = await startFilter({ sidecar: s.handler });
  t.teardown(() => vm.close());
  await sendCheckout(vm, basket([['A', 1]]), withId('r-0'));
  s.state.down = true;

  // Baskets of 5 x A (never cached): 40-5, 35-5, 30-5 leave >= 25 — allowed; the 4th would leave 20.
  const statuses: string[] = [];
  for (let i = 1; i <= 5; i++) {
    const { state } = await sendCheckout(vm, basket([['A', 5]]), withId(`r-${i}`));
    statuses.push(
      state.kind === 'continued'
        ? `${header(state.headers, 'x-atp-reason')}`
        : `${state.kind === 'local-reply' && state.status}`,
    );
  }
  t.same(statuses, ['WIDE_MARGIN', 'WIDE_MARGIN', 'WIDE_MARGIN', '503', '503']);
  t.equal(vm.metrics.value('atp_filter.degraded_wide_margin'), 3n);

  // Another zone has no margin on record: 503.
  const elsewhere = await sendCheckout(vm, basket([['A', 1]], 'FR-75'), withId('r-z'));
  t.equal(elsewhere.state.kind === 'local-reply' && elsewhere.state.status, 503);
});

t.test('every item of the basket needs a wide margin', async (t) => {
  // A has a wide margin, B a thin one.
  const s = breakableSidecar({ A: 500, B: 26 });
  const vm = await startFilter({ sidecar: s.handler });
  t.teardown(() => vm.close());
  await sendCheckout(
    vm,
    basket([
      ['A', 1],
      ['B', 1],
    ]),
    withId('r-0'),
  );
  s.state.down = true;

  // A alone passes; A with 2 x B (26 - 2 < 25) does not.
  const a = await sendCheckout(vm, basket([['A', 3]]), withId('r-1'));
  t.equal(a.state.kind, 'continued');
  const ab = await sendCheckout(
    vm,
    basket([
      ['A', 3],
      ['B', 2],
    ]),
    withId('r-2'),
  );
  t.equal(ab.state.kind === 'local-reply' && ab.state.status, 503);
});

t.test('last-known margins expire after margin_max_age_ms', async (t) => {
  // A wide margin on record, then an outage of 31 s (default margin_max_age_ms 30 s).
  const clock = new FakeClock();
  const s = breakableSidecar({ A: 1000 });
  const vm = await startFilter({ sidecar: s.handler, now: clock.now });
  t.teardown(() => vm.close());
  await sendCheckout(vm, basket([['A', 1]]), withId('r-0'));
  s.state.down = true;
  clock.advance(31_000);

  // Too old to vouch for anything.
  const { state } = await sendCheckout(vm, basket([['A', 2]]), withId('r-1'));
  t.equal(state.kind === 'local-reply' && state.status, 503);
});

t.test('two workers spending one margin never allow more than it covers', async (t) => {
  // Two workers share the margin book; A's margin is 40 against a wide margin of 25.
  const sharedData = new SharedDataStore();
  const s = breakableSidecar({ A: 40 });
  const one = await startFilter({ sidecar: s.handler, sharedData });
  const two = await startFilter({ sidecar: s.handler, sharedData });
  t.teardown(() => {
    one.close();
    two.close();
  });
  await sendCheckout(one, basket([['A', 1]]), withId('r-0'));
  s.state.down = true;

  // Alternating workers, 5 units each: exactly three allows in total, as with one worker.
  let allowed = 0;
  for (let i = 0; i < 6; i++) {
    const { state } = await sendCheckout(i % 2 === 0 ? one : two, basket([['A', 5]]), withId(`r-${i + 1}`));
    if (state.kind === 'continued') allowed++;
  }
  t.equal(allowed, 3);
});

t.test('a malformed x-atp-units-p10 records no margin', async (t) => {
  // The sidecar's header has the wrong number of values, then garbage.
  const answers = ['40,40', 'abc', '-5', ''];
  const sharedData = new SharedDataStore();
  for (const units of answers) {
    const vm = await startFilter({
      sharedData,
      sidecar: (call) =>
        call.headers.some(([k, v]) => k === ':method' && v === 'GET')
          ? { status: 404 }
          : {
              status: 200,
              headers: { 'x-atp-decision': 'allow', 'x-atp-decision-id': 'd-1', 'x-atp-units-p10': units },
            },
    });
    await sendCheckout(vm, basket([['A', 1]]), withId('r-0'));
    vm.close();
  }

  // Nothing was recorded in the margin book.
  t.same(
    sharedData.keys('atp').filter((k) => k.startsWith('atp.m.')),
    [],
  );
});

t.test('deny_retryable answers 503 at once, cached decision or not', async (t) => {
  // A route with the strict policy; the sidecar allowed the basket before it went down.
  const s = breakableSidecar({ A: 1000 });
  const vm = await startFilter({
    sidecar: s.handler,
    config: { ...BASE_CONFIG, on_sidecar_failure: 'deny_retryable' },
  });
  t.teardown(() => vm.close());
  await sendCheckout(vm, basket([['A', 1]]), withId('r-0'));
  s.state.down = true;

  // 503, retryable, with retry-after.
  const { state } = await sendCheckout(vm, basket([['A', 1]]), withId('r-1'));
  if (state.kind !== 'local-reply') throw t.fail(`expected a local reply, got ${state.kind}`);
  t.equal(state.status, 503);
  t.same(replyJson(state), { error: 'atp_unavailable', retryable: true });
  t.equal(header(state.headers, 'retry-after'), '1');
});

t.test('fail_open allows, flagged degraded, only where configured', async (t) => {
  // /checkout/gift fails open; /checkout keeps the default policy.
  const s = breakableSidecar();
  const vm = await startFilter({
    sidecar: s.handler,
    config: {
      ...BASE_CONFIG,
      routes: [
        { prefix: '/checkout/gift', mode: 'enforce', on_sidecar_failure: 'fail_open' },
        { prefix: '/checkout', mode: 'enforce' },
      ],
    },
  });
  t.teardown(() => vm.close());
  s.state.down = true;

  // The gift route allows with reason SIDECAR_UNAVAILABLE; the main route answers 503.
  const gift = await sendCheckout(vm, basket([['A', 1]]), withId('r-1', '/checkout/gift'));
  if (gift.state.kind !== 'continued') throw t.fail(`expected continued, got ${gift.state.kind}`);
  t.equal(header(gift.state.headers, 'x-atp-decision'), 'allow');
  t.equal(header(gift.state.headers, 'x-atp-degraded'), 'sidecar');
  t.equal(header(gift.state.headers, 'x-atp-reason'), 'SIDECAR_UNAVAILABLE');
  const main = await sendCheckout(vm, basket([['A', 1]]), withId('r-2'));
  t.equal(main.state.kind === 'local-reply' && main.state.status, 503);
  t.equal(vm.metrics.value('atp_filter.degraded_fail_open'), 1n);
});

t.test('a route overrides the top-level failure policy field by field', async (t) => {
  // Top level: cache TTL 1 s; the express route keeps 1 s, the main route raises it to 60 s.
  const clock = new FakeClock();
  const s = breakableSidecar();
  const vm = await startFilter({
    sidecar: s.handler,
    now: clock.now,
    config: {
      ...BASE_CONFIG,
      cache_ttl_ms: 1000,
      routes: [
        { prefix: '/checkout/express', mode: 'enforce' },
        { prefix: '/checkout', mode: 'enforce', cache_ttl_ms: 60_000 },
      ],
    },
  });
  t.teardown(() => vm.close());
  await sendCheckout(vm, basket([['A', 1]]), withId('r-1', '/checkout/express'));
  await sendCheckout(vm, basket([['A', 1]]), withId('r-2'));
  s.state.down = true;
  clock.advance(5000);

  // Five seconds into the outage only the main route's cached allow still stands in.
  const express = await sendCheckout(vm, basket([['A', 1]]), withId('r-3', '/checkout/express'));
  t.equal(express.state.kind === 'local-reply' && express.state.status, 503);
  const main = await sendCheckout(vm, basket([['A', 1]]), withId('r-4'));
  t.equal(main.state.kind === 'continued' && header(main.state.headers, 'x-atp-reason'), 'CACHED_DECISION');
});
