import t from 'tap';
import { SharedDataStore } from '../../wasm-filter/emulator/index.js';
import {
  BASE_CONFIG,
  FakeClock,
  fakeSidecar,
  filterSnapshot,
  header,
  headersWithId,
  IN_STOCK_BODY,
  OUT_OF_STOCK_BODY,
  pullSnapshot,
  replyJson,
  sendCheckout,
  startFilter,
  stockSidecar,
} from './helpers/filter-harness.js';

/** Default deny_fast_path_ttl_ms. */
const DENY_FAST_PATH_TTL_MS = 1000;

const withId = (id: string) => headersWithId(id);

t.test(
  'a recently denied basket is answered 409 from the shared cache without asking the sidecar',
  async (t) => {
    // Start the filter; the sidecar denies OOS-00009.
    const clock = new FakeClock();
    const sidecar = stockSidecar();
    const vm = await startFilter({ sidecar: sidecar.handler, now: clock.now });
    t.teardown(() => vm.close());

    // The first checkout asks the sidecar and gets its 409.
    const first = await sendCheckout(vm, OUT_OF_STOCK_BODY, withId('r-1'));
    t.equal(replyJson(first.state).decision_id, 'dec-1');
    t.equal(sidecar.calls.length, 1);

    // The same basket again, 200 ms later: 409 from the cache, reason CACHED_DECISION, not degraded.
    clock.advance(200);
    const second = await sendCheckout(vm, OUT_OF_STOCK_BODY, withId('r-2'));
    if (second.state.kind !== 'local-reply') throw t.fail(`expected a local reply, got ${second.state.kind}`);
    t.equal(second.state.status, 409);
    t.match(replyJson(second.state), {
      error: 'unavailable',
      reason: 'CACHED_DECISION',
      decision_id: 'flt-r-2',
    });
    t.equal(header(second.state.headers, 'x-atp-degraded'), undefined);
    t.equal(sidecar.calls.length, 1, 'the sidecar was asked once');
    t.equal(vm.metrics.value('atp_filter.cache_hits'), 1n);
    t.equal(vm.metrics.value('atp_filter.cache_misses'), 1n);
  },
);

t.test('an allowed basket is never answered from the cache while the sidecar answers', async (t) => {
  // Start the filter with an in-stock sidecar.
  const sidecar = stockSidecar();
  const vm = await startFilter({ sidecar: sidecar.handler });
  t.teardown(() => vm.close());

  // Twice the same in-stock basket: both ask the sidecar (each allow needs its own reservation).
  await sendCheckout(vm, IN_STOCK_BODY, withId('r-1'));
  const again = await sendCheckout(vm, IN_STOCK_BODY, withId('r-2'));
  t.equal(again.state.kind === 'continued' && header(again.state.headers, 'x-atp-decision-id'), 'dec-2');
  t.equal(sidecar.calls.length, 2);
});

t.test('a cached deny older than deny_fast_path_ttl_ms sends the basket to the sidecar again', async (t) => {
  // Start the filter on a fake clock; the sidecar denies, then restocks.
  const clock = new FakeClock();
  let inStock = false;
  const sidecar = fakeSidecar(() => ({ decision: inStock ? 'allow' : 'deny' }));
  const vm = await startFilter({ sidecar: sidecar.handler, now: clock.now });
  t.teardown(() => vm.close());
  await sendCheckout(vm, OUT_OF_STOCK_BODY, withId('r-1'));

  // Past the TTL the sidecar is asked again and its allow goes through.
  inStock = true;
  clock.advance(DENY_FAST_PATH_TTL_MS + 1);
  const later = await sendCheckout(vm, OUT_OF_STOCK_BODY, withId('r-2'));
  t.equal(later.state.kind === 'continued' && header(later.state.headers, 'x-atp-decision'), 'allow');
  t.equal(sidecar.calls.length, 2);
});

t.test('a new rules or model version in the snapshot invalidates cached decisions', async (t) => {
  // The filter runs under snapshot rules-3 / gbt-7 and caches a deny made under them.
  const clock = new FakeClock();
  const sidecar = stockSidecar();
  sidecar.snapshot = filterSnapshot();
  const vm = await startFilter({ sidecar: sidecar.handler, now: clock.now });
  t.teardown(() => vm.close());
  await pullSnapshot(vm, clock);
  await sendCheckout(vm, OUT_OF_STOCK_BODY, withId('r-1'));
  t.equal(sidecar.calls.length, 1);

  // The control plane ships rules-4: the cached deny no longer answers.
  sidecar.snapshot = filterSnapshot({ version: 2, rules_version: 'rules-4' });
  await pullSnapshot(vm, clock);
  await sendCheckout(vm, OUT_OF_STOCK_BODY, withId('r-2'));
  t.equal(sidecar.calls.length, 2, 'asked again after the rules changed');

  // Same for a model rollout.
  sidecar.snapshot = filterSnapshot({ version: 3, rules_version: 'rules-4', model_version: 'gbt-8' });
  await pullSnapshot(vm, clock);
  await sendCheckout(vm, OUT_OF_STOCK_BODY, withId('r-3'));
  t.equal(sidecar.calls.length, 3, 'asked again after the model changed');
});

t.test('the cache key ignores item order but not quantities or the buyer zone', async (t) => {
  // The sidecar denies every basket.
  const clock = new FakeClock();
  const sidecar = fakeSidecar(() => ({ decision: 'deny' }));
  const vm = await startFilter({ sidecar: sidecar.handler, now: clock.now });
  t.teardown(() => vm.close());
  const basket = (items: Array<[string, number]>, zone = 'DE-10') =>
    JSON.stringify({ items: items.map(([sku, qty]) => ({ sku, qty })), buyer_zone: zone });
  await sendCheckout(
    vm,
    basket([
      ['A', 1],
      ['B', 2],
    ]),
    withId('r-1'),
  );

  // The same items in another order hit the cache; another qty or zone does not.
  await sendCheckout(
    vm,
    basket([
      ['B', 2],
      ['A', 1],
    ]),
    withId('r-2'),
  );
  t.equal(sidecar.calls.length, 1);
  await sendCheckout(
    vm,
    basket([
      ['A', 1],
      ['B', 3],
    ]),
    withId('r-3'),
  );
  await sendCheckout(
    vm,
    basket(
      [
        ['A', 1],
        ['B', 2],
      ],
      'FR-75',
    ),
    withId('r-4'),
  );
  t.equal(sidecar.calls.length, 3);
});

t.test('the cache holds at most cache_max_entries keys in shared data', async (t) => {
  // A small cache: 16 slots.
  const sharedData = new SharedDataStore();
  const vm = await startFilter({
    sharedData,
    config: { ...BASE_CONFIG, cache_max_entries: 16 },
    sidecar: fakeSidecar(() => ({ decision: 'deny', unitsP10: [3] })).handler,
  });
  t.teardown(() => vm.close());

  // 300 distinct denied baskets.
  for (let i = 0; i < 300; i++) {
    const body = JSON.stringify({ items: [{ sku: `SKU-${i}`, qty: 1 }], buyer_zone: 'DE-10' });
    await sendCheckout(vm, body, withId(`r-${i}`));
  }

  // Shared data never grew past 16 decision slots (and 16 margin slots).
  const keys = sharedData.keys('atp');
  t.ok(keys.filter((k) => k.startsWith('atp.d.')).length <= 16, 'decision slots');
  t.ok(keys.filter((k) => k.startsWith('atp.m.')).length <= 16, 'margin slots');
  t.ok(
    keys.every((k) => /^atp\.(d|m)\.\d+$/.test(k)),
    `only slot keys: ${keys.slice(0, 3).join(', ')}`,
  );
});

t.test('two workers share the cache: a deny seen by one answers on the other', async (t) => {
  // Two workers on one shared-data store, each with its own sidecar connection.
  const sharedData = new SharedDataStore();
  const sidecarA = stockSidecar();
  const sidecarB = stockSidecar();
  const a = await startFilter({ sidecar: sidecarA.handler, sharedData });
  const b = await startFilter({ sidecar: sidecarB.handler, sharedData });
  t.teardown(() => {
    a.close();
    b.close();
  });

  // Worker A asks its sidecar and gets a deny; worker B answers the same basket from the cache.
  await sendCheckout(a, OUT_OF_STOCK_BODY, withId('r-1'));
  const onB = await sendCheckout(b, OUT_OF_STOCK_BODY, withId('r-2'));
  t.equal(replyJson(onB.state).reason, 'CACHED_DECISION');
  t.equal(sidecarB.calls.length, 0);
});
