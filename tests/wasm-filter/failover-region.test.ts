/**
 * Regional failover in the filter (issue 15): the plugin configuration's
 * `region` and `failover_for` are region names by parseRegionName's rule
 * (proto/v1/regions.ts), and a checkout the mesh failed over from region X
 * (x-atp-origin-region: X, set by X's mesh routes) reaches the sidecar as an
 * X request only when `failover_for` lists X. Every other value is ignored
 * (own region), counted when it names neither region, and the header never
 * goes upstream. Compiled wasm in the emulator; the sidecar is the harness's
 * fake (it records what the filter sent).
 */
import t from 'tap';
import { MAX_REGION_NAME, parseRegionName } from '../../proto/v1/regions.js';
import { ProxyWasmVm } from '../../wasm-filter/emulator/index.js';
import {
  BASE_CONFIG,
  checkoutHeaders,
  fakeSidecar,
  filterModule,
  header,
  headersWithId,
  OUT_OF_STOCK_BODY,
  replyJson,
  SIDECAR_CLUSTER,
  sendCheckout,
  startFilter,
  stockSidecar,
} from './helpers/filter-harness.js';

const ORIGIN = 'x-atp-origin-region';
const FAILOVER_CONFIG = { ...BASE_CONFIG, region: 'eu-central', failover_for: ['eu-west', 'us-east'] };

/** Loads the filter with `config`; resolves with whether it started and its error log lines. */
async function configure(config: unknown): Promise<{ started: boolean; errors: string[] }> {
  const vm = await ProxyWasmVm.load(await filterModule(), {
    vmId: 'atp',
    rootId: 'atp_filter',
    pluginConfig: JSON.stringify(config),
    clusters: { [SIDECAR_CLUSTER]: stockSidecar().handler },
  });
  try {
    const started = vm.start();
    return { started, errors: vm.logsAtOrAbove('error').map((l) => l.message) };
  } finally {
    vm.close();
  }
}

t.test('region and failover_for are checked exactly as parseRegionName checks them', async (t) => {
  // Names on both sides of every rule of REGION_NAME_RE and MAX_REGION_NAME.
  const names = [
    'eu-west',
    'eu_west',
    'EU-west',
    'eu--west',
    'eu-west-',
    '-eu',
    '1eu',
    'e',
    'e1-2',
    'eu west',
    'eu.west',
    'a'.repeat(MAX_REGION_NAME),
    'a'.repeat(MAX_REGION_NAME + 1),
  ];
  for (const name of names) {
    let accepted = true;
    try {
      parseRegionName(name);
    } catch {
      accepted = false;
    }
    // As the own region.
    const own = await configure({ ...BASE_CONFIG, region: name });
    t.equal(own.started, accepted, `region "${name}": ${accepted ? 'starts' : 'refused'}`);
    if (!accepted) {
      t.ok(
        own.errors.some((m) => /invalid plugin configuration: region: expected a region name/.test(m)),
        `region "${name}": the log names the field (${own.errors[0]})`,
      );
    }
    // As a failover region.
    const failover = await configure({ ...BASE_CONFIG, region: 'zz-1', failover_for: ['eu-central', name] });
    t.equal(failover.started, accepted, `failover_for "${name}": ${accepted ? 'starts' : 'refused'}`);
    if (!accepted) {
      t.ok(
        failover.errors.some((m) => /failover_for\[1\]: expected a region name/.test(m)),
        `failover_for "${name}": the log names the element (${failover.errors[0]})`,
      );
    }
  }
});

t.test('failover_for refuses its own region, repeats, non-lists and more than 8 regions', async (t) => {
  const cases: Array<{ why: string; failover_for: unknown; reason: RegExp }> = [
    {
      why: 'own region',
      failover_for: ['eu-central', 'eu-west'],
      reason: /failover_for\[1\]: is this filter's own region "eu-west"/,
    },
    { why: 'a repeat', failover_for: ['us-east', 'us-east'], reason: /failover_for\[1\]: repeats "us-east"/ },
    { why: 'a string', failover_for: 'us-east', reason: /failover_for: expected an array, got a string/ },
    { why: 'a number inside', failover_for: [1], reason: /failover_for\[0\]: expected a string/ },
    { why: 'an empty name', failover_for: [''], reason: /failover_for\[0\]: must not be empty/ },
    {
      why: 'nine regions',
      failover_for: Array.from({ length: 9 }, (_, i) => `r${i}`),
      reason: /failover_for: has more than 8 elements/,
    },
  ];
  for (const c of cases) {
    const run = await configure({ ...BASE_CONFIG, failover_for: c.failover_for });
    t.equal(run.started, false, `${c.why}: refuses to start`);
    t.ok(
      run.errors.some((m) => c.reason.test(m)),
      `${c.why}: logged ${JSON.stringify(run.errors[0])}`,
    );
  }
  // The limits themselves start: none, and eight distinct others.
  t.equal((await configure({ ...BASE_CONFIG, failover_for: [] })).started, true, 'an empty list starts');
  const eight = Array.from({ length: 8 }, (_, i) => `r${i}`);
  t.equal((await configure({ ...BASE_CONFIG, failover_for: eight })).started, true, 'eight regions start');
});

t.test(
  'a listed origin region is what the sidecar is asked for; the header never goes upstream',
  async (t) => {
    const sidecar = stockSidecar();
    const vm = await startFilter({ config: FAILOVER_CONFIG, sidecar: sidecar.handler });
    t.teardown(() => vm.close());

    // eu-west's checkout, failed over to this eu-central pod by the mesh.
    const sent = await sendCheckout(vm, OUT_OF_STOCK_BODY, checkoutHeaders([[ORIGIN, 'us-east']]));
    t.equal(sidecar.requests[0]?.region, 'us-east', 'the sidecar call carries the origin region');
    t.equal(sent.state.kind, 'local-reply', 'the sidecar deny is applied');
    // An allowed one continues without the header.
    const allowed = await sendCheckout(
      vm,
      JSON.stringify({ items: [{ sku: 'SKU-1', qty: 1 }], buyer_zone: 'DE-10' }),
      checkoutHeaders([[ORIGIN, 'eu-west']]),
    );
    t.equal(sidecar.requests[1]?.region, 'eu-west');
    t.equal(allowed.state.kind, 'continued');
    const upstream = allowed.stream.upstreamRequest.headers ?? [];
    t.equal(header(upstream, 'x-atp-decision'), 'allow');
    t.equal(header(upstream, ORIGIN), undefined, 'x-atp-origin-region is not passed upstream');

    t.equal(vm.metrics.value('atp_filter.failover_requests'), 2n);
    t.equal(vm.metrics.value('atp_filter.origin_region_refused'), 0n);
  },
);

t.test('an unlisted, malformed or own origin is never forwarded: the own region is used', async (t) => {
  // No deny fast path: every checkout below reaches the sidecar.
  const sidecar = stockSidecar();
  const config = { ...FAILOVER_CONFIG, deny_fast_path_ttl_ms: 0 };
  const vm = await startFilter({ config, sidecar: sidecar.handler });
  t.teardown(() => vm.close());

  // Values the filter must not forward, and whether each is counted as refused.
  const values: Array<[string | undefined, boolean]> = [
    [undefined, false],
    ['eu-central', false],
    ['ap-south', true],
    ['EU-WEST', true],
    ['eu-west ', true],
    ['eu-west,us-east', true],
    ['eu-westx', true],
    ['eu-wes', true],
    ['', true],
  ];
  let refused = 0n;
  for (const [i, [value, counted]] of values.entries()) {
    const extra: Array<[string, string]> = value === undefined ? [] : [[ORIGIN, value]];
    const sent = await sendCheckout(vm, OUT_OF_STOCK_BODY, checkoutHeaders(extra));
    t.equal(sidecar.requests[i]?.region, 'eu-central', `${JSON.stringify(value)}: own region sent`);
    t.equal(
      replyJson(sent.state).decision_id,
      `dec-${i + 1}`,
      `${JSON.stringify(value)}: the sidecar decided`,
    );
    if (counted) refused++;
    t.equal(
      vm.metrics.value('atp_filter.origin_region_refused'),
      refused,
      `${JSON.stringify(value)}: counted`,
    );
  }
  t.equal(vm.metrics.value('atp_filter.failover_requests'), 0n);

  // An unlisted origin on an allowed checkout is removed too.
  const allowed = await sendCheckout(
    vm,
    JSON.stringify({ items: [{ sku: 'SKU-1', qty: 1 }], buyer_zone: 'DE-10' }),
    checkoutHeaders([[ORIGIN, 'ap-south']]),
  );
  t.equal(allowed.state.kind, 'continued');
  t.equal(header(allowed.stream.upstreamRequest.headers ?? [], ORIGIN), undefined);
});

t.test('a filter without failover_for forwards no origin at all', async (t) => {
  const sidecar = stockSidecar();
  const vm = await startFilter({ sidecar: sidecar.handler });
  t.teardown(() => vm.close());
  await sendCheckout(vm, OUT_OF_STOCK_BODY, checkoutHeaders([[ORIGIN, 'us-east']]));
  t.equal(sidecar.requests[0]?.region, 'eu-west');
  t.equal(vm.metrics.value('atp_filter.origin_region_refused'), 1n);
});

t.test('failover answers and own-region answers never stand in for each other in the cache', async (t) => {
  // The sidecar denies the basket for us-east (no escrow left) and allows it for eu-central.
  const sidecar = fakeSidecar((r) => ({ decision: r.region === 'us-east' ? 'deny' : 'allow' }));
  const vm = await startFilter({ config: FAILOVER_CONFIG, sidecar: sidecar.handler });
  t.teardown(() => vm.close());
  const failover = (id: string) => headersWithId(id).concat([[ORIGIN, 'us-east']]);

  // us-east's checkout is denied: the deny is cached under us-east.
  const first = await sendCheckout(vm, OUT_OF_STOCK_BODY, failover('r-1'));
  t.equal(replyJson(first.state).decision_id, 'dec-1');

  // The same basket for eu-central's own buyers asks the sidecar (the us-east deny does not apply).
  const own = await sendCheckout(vm, OUT_OF_STOCK_BODY, headersWithId('r-2'));
  t.equal(own.state.kind, 'continued', 'own region: allowed by the sidecar, not denied from the cache');
  t.equal(sidecar.requests.length, 2);
  t.equal(sidecar.requests[1]?.region, 'eu-central');

  // us-east's again: the fast path answers from us-east's cached deny, no call.
  const again = await sendCheckout(vm, OUT_OF_STOCK_BODY, failover('r-3'));
  t.match(replyJson(again.state), { reason: 'CACHED_DECISION', decision_id: 'flt-r-3' });
  t.equal(sidecar.requests.length, 2, 'the failover deny came from the cache');

  // And eu-west's (another listed origin) has nothing cached: it asks.
  await sendCheckout(vm, OUT_OF_STOCK_BODY, headersWithId('r-4').concat([[ORIGIN, 'eu-west']]));
  t.equal(sidecar.requests.length, 3);
  t.equal(sidecar.requests[2]?.region, 'eu-west');
  t.equal(vm.metrics.value('atp_filter.cache_hits'), 1n);
});
