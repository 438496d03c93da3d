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
    reason: /region: may contain only/,
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
    reason: /on_sidecar_failure: expected one of deny_retryable/,
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
