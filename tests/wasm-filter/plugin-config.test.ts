import t from 'tap';
import { ProxyWasmVm } from '../../wasm-filter/emulator/index.js';
import {
  BASE_CONFIG,
  checkoutHeaders,
  filterModule,
  IN_STOCK_BODY,
  SIDECAR_CLUSTER,
  stockSidecar,
} from './helpers/filter-harness.js';

/** Configurations the filter must refuse, and the field its log line must name. */
const BAD_CONFIGS: Array<{ why: string; config: string | object; reason: RegExp }> = [
  { why: 'empty configuration', config: '', reason: /\$: is empty/ },
  { why: 'not JSON', config: 'sidecar_cluster=atp', reason: /\$: not valid JSON/ },
  { why: 'a JSON array', config: '[]', reason: /\$: expected an object, got an array/ },
  {
    why: 'missing sidecar_cluster',
    config: { ...BASE_CONFIG, sidecar_cluster: undefined },
    reason: /sidecar_cluster: is required/,
  },
  { why: 'missing region', config: { ...BASE_CONFIG, region: undefined }, reason: /region: is required/ },
  { why: 'missing routes', config: { ...BASE_CONFIG, routes: undefined }, reason: /routes: is required/ },
  { why: 'empty routes', config: { ...BASE_CONFIG, routes: [] }, reason: /routes: needs at least 1/ },
  {
    why: 'timeout_ms of zero',
    config: { ...BASE_CONFIG, timeout_ms: 0 },
    reason: /timeout_ms: must be between 1 and 10000, got 0/,
  },
  {
    why: 'timeout_ms as a string',
    config: { ...BASE_CONFIG, timeout_ms: '25' },
    reason: /timeout_ms: expected an integer, got a string/,
  },
  {
    why: 'max_body_bytes too large',
    config: { ...BASE_CONFIG, max_body_bytes: 1e9 },
    reason: /max_body_bytes: must be between/,
  },
  {
    why: 'unknown mode',
    config: { ...BASE_CONFIG, routes: [{ prefix: '/checkout', mode: 'block' }] },
    reason: /routes\[0\]\.mode: expected one of off \| shadow \| enforce/,
  },
  {
    why: 'route without mode',
    config: { ...BASE_CONFIG, routes: [{ prefix: '/checkout' }] },
    reason: /routes\[0\]\.mode: is required/,
  },
  {
    why: 'prefix without a slash',
    config: { ...BASE_CONFIG, routes: [{ prefix: 'checkout', mode: 'enforce' }] },
    reason: /routes\[0\]\.prefix: must start with \//,
  },
  {
    why: 'region with spaces',
    config: { ...BASE_CONFIG, region: 'eu west' },
    reason: /region: expected a region name/,
  },
  {
    why: 'sidecar_path without a slash',
    config: { ...BASE_CONFIG, sidecar_path: 'v1/check' },
    reason: /sidecar_path: must start with \//,
  },
  {
    why: 'a misspelt field',
    config: { ...BASE_CONFIG, timeout: 25 },
    reason: /timeout: is not a known field/,
  },
  {
    why: 'an unknown failure policy',
    config: { ...BASE_CONFIG, on_sidecar_failure: 'allow' },
    reason:
      /on_sidecar_failure: expected one of cached_then_margin_then_deny \| cached_then_deny \| deny_retryable \| fail_open/,
  },
  {
    why: 'rollout_pct above 100',
    config: { ...BASE_CONFIG, routes: [{ prefix: '/checkout', mode: 'enforce', rollout_pct: 101 }] },
    reason: /routes\[0\]\.rollout_pct: must be between 0 and 100, got 101/,
  },
  {
    why: 'an unknown per-route failure policy',
    config: {
      ...BASE_CONFIG,
      routes: [{ prefix: '/checkout', mode: 'enforce', on_sidecar_failure: 'hope' }],
    },
    reason: /routes\[0\]\.on_sidecar_failure: expected one of cached_then_margin_then_deny/,
  },
  {
    why: 'an unknown route field',
    config: { ...BASE_CONFIG, routes: [{ prefix: '/checkout', mode: 'enforce', weight: 3 }] },
    reason: /routes\[0\]\.weight: is not a known field/,
  },
  {
    why: 'a snapshot period too slow for the 2 s kill-switch promise',
    config: { ...BASE_CONFIG, snapshot_period_ms: 5000 },
    reason: /snapshot_period_ms: must be between 100 and 1500, got 5000/,
  },
  {
    why: 'cache_max_entries of zero',
    config: { ...BASE_CONFIG, cache_max_entries: 0 },
    reason: /cache_max_entries: must be between 16 and 65536, got 0/,
  },
  {
    why: 'a negative cache TTL',
    config: { ...BASE_CONFIG, cache_ttl_ms: -1 },
    reason: /cache_ttl_ms: must be between 0 and 300000, got -1/,
  },
  {
    why: 'wide_margin_units of zero (a margin that vouches for nothing)',
    config: { ...BASE_CONFIG, wide_margin_units: 0 },
    reason: /wide_margin_units: must be between 1 and/,
  },
  {
    why: 'snapshot_path without a slash',
    config: { ...BASE_CONFIG, snapshot_path: 'v1/filter-snapshot' },
    reason: /snapshot_path: must start with \//,
  },
  {
    why: 'an empty cache key prefix',
    config: { ...BASE_CONFIG, cache_key_prefix: '' },
    reason: /cache_key_prefix: must not be empty/,
  },
  {
    why: 'a per-route field given twice',
    config:
      '{"sidecar_cluster":"a","region":"r","routes":[{"prefix":"/","mode":"off","cache_ttl_ms":1,"cache_ttl_ms":2}]}',
    reason: /routes\[0\]\.cache_ttl_ms: appears more than once/,
  },
  {
    why: 'a duplicated field',
    config:
      '{"sidecar_cluster":"a","sidecar_cluster":"b","region":"r","routes":[{"prefix":"/","mode":"off"}]}',
    reason: /sidecar_cluster: appears more than once/,
  },
];

t.test('a bad plugin configuration refuses to start with a logged reason', async (t) => {
  for (const bad of BAD_CONFIGS) {
    // Load the filter with the bad configuration.
    const vm = await ProxyWasmVm.load(await filterModule(), {
      vmId: 'atp',
      rootId: 'atp_filter',
      pluginConfig: typeof bad.config === 'string' ? bad.config : JSON.stringify(bad.config),
      clusters: { [SIDECAR_CLUSTER]: stockSidecar().handler },
    });

    // proxy_on_configure says no, and the error log names the field.
    t.equal(vm.start(), false, `${bad.why}: refuses to start`);
    const errors = vm.logsAtOrAbove('error').map((l) => l.message);
    t.ok(
      errors.some(
        (m) =>
          m.startsWith('atp-filter: refusing to start: invalid plugin configuration:') && bad.reason.test(m),
      ),
      `${bad.why}: logged ${JSON.stringify(errors[0])}`,
    );
    t.same(vm.traps, [], `${bad.why}: no trap`);

    // A plugin that failed to configure answers 503 rather than letting checkouts through unchecked.
    const stream = vm.newHttpStream();
    const state = stream.requestHeaders(checkoutHeaders(), false);
    t.equal(state.kind === 'local-reply' && state.status, 503, `${bad.why}: fails closed`);
    vm.close();
  }
});

t.test('defaults fill the optional fields of a minimal configuration', async (t) => {
  // Load the filter with only the required fields.
  const sidecar = stockSidecar();
  const vm = await ProxyWasmVm.load(await filterModule(), {
    rootId: 'atp_filter',
    pluginConfig: {
      sidecar_cluster: SIDECAR_CLUSTER,
      region: 'us-east',
      routes: [{ prefix: '/checkout', mode: 'enforce' }],
    },
    clusters: { [SIDECAR_CLUSTER]: sidecar.handler },
  });
  t.teardown(() => vm.close());
  t.equal(vm.start(), true);

  // The sidecar is called on /v1/check with the cluster name as authority.
  const stream = vm.newHttpStream();
  stream.requestHeaders(checkoutHeaders(), false);
  stream.requestBody(IN_STOCK_BODY, true);
  await stream.settled();
  const call = sidecar.calls[0];
  t.same(
    call?.headers.filter(([k]) => k.startsWith(':')),
    [
      [':method', 'POST'],
      [':path', '/v1/check'],
      [':authority', SIDECAR_CLUSTER],
    ],
  );
  t.equal(call?.timeoutMs, 25, 'default timeout_ms');
  t.equal(sidecar.requests[0]?.region, 'us-east');
});

t.test('the filter starts whatever root_id the host gives it, and logs it', async (t) => {
  for (const rootId of ['', 'atp_filter', 'istio-wasmplugin-name']) {
    // Load the filter under this root id (Envoy's root_id; empty when unset).
    const vm = await ProxyWasmVm.load(await filterModule(), { rootId, pluginConfig: BASE_CONFIG });

    // It configures and names the root id in its summary line.
    t.equal(vm.start(), true, `root id "${rootId}"`);
    t.ok(
      vm.logs.some(
        (l) => l.level === 'info' && l.message.startsWith(`atp-filter: configured root id "${rootId}"`),
      ),
    );
    vm.close();
  }
});

t.test('every optional field is accepted and summarised in the start-up log line', async (t) => {
  // A configuration that sets every field, top-level policy defaults and per-route overrides included.
  const config = {
    ...BASE_CONFIG,
    snapshot_path: '/v1/filter-snapshot',
    snapshot_period_ms: 250,
    snapshot_timeout_ms: 100,
    cache_key_prefix: 'atp-eu.',
    cache_max_entries: 1024,
    on_sidecar_failure: 'cached_then_deny',
    cache_ttl_ms: 5000,
    deny_fast_path_ttl_ms: 500,
    wide_margin_units: 40,
    margin_max_age_ms: 20000,
    routes: [
      { prefix: '/checkout/express', mode: 'shadow', rollout_pct: 25, on_sidecar_failure: 'deny_retryable' },
      { prefix: '/checkout', mode: 'enforce', cache_ttl_ms: 2000 },
    ],
  };
  const vm = await ProxyWasmVm.load(await filterModule(), { rootId: 'atp_filter', pluginConfig: config });
  t.teardown(() => vm.close());

  // It starts, and the summary names each route's mode, rollout and failure policy.
  t.equal(vm.start(), true);
  const line = vm.logs.find((l) => l.message.startsWith('atp-filter: configured'))?.message ?? '';
  t.match(line, /snapshot \/v1\/filter-snapshot every 250 ms/);
  t.match(line, /\/checkout\/express=shadow 25% on failure deny_retryable/);
  t.match(line, /\/checkout=enforce 100% on failure cached_then_deny/);
});
