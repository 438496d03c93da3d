/**
 * mesh-config/ against the code it configures: the plugin configuration in
 * every manifest must start the real filter (and reach the sidecar the
 * manifest names), names, ports and timeouts must agree with each other and
 * with `npm start`, the manifests must pin the digest of the filter just
 * built, and every region overlay must produce a configuration for its region.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { MESH_CONFIG_DIR, readPins, sha256Of } from '../../mesh-config/scripts/pin.js';
import { defaultRegionRegistry } from '../../proto/v1/region-registry.js';
import { DEFAULT_PORTS, FILTER_CONFIG, REGION } from '../../scripts/local-mesh.js';
import { parseFailoverFor } from '../../sidecar/src/cli/failover-flags.js';
import { ProxyWasmVm } from '../../wasm-filter/emulator/index.js';
import { OUT_PATH, REPO_ROOT } from '../../wasm-filter/scripts/build.js';
import { renderKustomization } from '../deploy/render.js';
import {
  checkoutHeaders,
  fakeSidecar,
  filterModule,
  IN_STOCK_BODY,
  SNAPSHOT_PATH,
} from '../wasm-filter/helpers/filter-harness.js';

type Doc = Record<string, any>;
const ENVOY = join(MESH_CONFIG_DIR, 'envoy', 'envoy.yaml');
const ISTIO = join(MESH_CONFIG_DIR, 'istio');
const OVERLAYS = join(MESH_CONFIG_DIR, 'overlays');
const SIDECAR_CLUSTER = 'atp-sidecar';
const READINESS_PATH = '/readyz';

async function load(path: string): Promise<Doc> {
  return parse(await readFile(path, 'utf8')) as Doc;
}

/** "0.025s" -> 25 */
function durationMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)s$/.exec(d);
  if (m === null) throw new Error(`not a duration: ${d}`);
  return Math.round(Number(m[1]) * 1000);
}

/** The wasm filter entry and the plugin configuration it carries, in an Envoy http_filters list. */
function wasmFilterOf(httpFilters: Doc[]): { filter: Doc; pluginConfig: Doc } {
  const filter = httpFilters.find((f) => f.name === 'envoy.filters.http.wasm');
  if (filter === undefined) throw new Error('no envoy.filters.http.wasm');
  return { filter, pluginConfig: JSON.parse(filter.typed_config.config.configuration.value) as Doc };
}

async function envoyBootstrap() {
  const doc = await load(ENVOY);
  const listener = doc.static_resources.listeners[0];
  const hcm = listener.filter_chains[0].filters[0].typed_config;
  const clusters: Doc[] = doc.static_resources.clusters;
  return { doc, listener, hcm, clusters, ...wasmFilterOf(hcm.http_filters) };
}

/**
 * Loads the filter with `pluginConfig` and sends one checkout to its first
 * enforcing route; resolves with what the sidecar cluster it names received.
 */
async function runFilterWith(pluginConfig: Doc) {
  const sidecar = fakeSidecar(() => ({ decision: 'allow' }));
  const vm = await ProxyWasmVm.load(await filterModule(), {
    rootId: 'atp_filter',
    vmId: 'atp',
    pluginConfig,
    clusters: { [pluginConfig.sidecar_cluster]: sidecar.handler },
  });
  try {
    const started = vm.start();
    const route = (pluginConfig.routes as Doc[]).find((r) => r.mode === 'enforce');
    const stream = vm.newHttpStream();
    stream.requestHeaders(checkoutHeaders([], route?.prefix ?? '/'), false);
    stream.requestBody(IN_STOCK_BODY, true);
    await stream.settled();
    vm.tick();
    await vm.idle();
    const call = sidecar.calls[0];
    return {
      started,
      errors: vm.logsAtOrAbove('error').map((l) => l.message),
      checkPath: call?.headers.find(([k]) => k === ':path')?.[1],
      region: sidecar.requests[0]?.region,
      snapshotPulls: sidecar.snapshotPulls,
      traps: vm.traps,
    };
  } finally {
    vm.close();
  }
}

/** Applies the JSON6902 `replace` operations kustomize would (the only kind the overlays use). */
function applyReplaceOps(doc: Doc, ops: Array<{ op: string; path: string; value: unknown }>): void {
  for (const { op, path, value } of ops) {
    if (op !== 'replace') throw new Error(`unsupported patch op ${op}`);
    const keys = path.split('/').slice(1);
    const last = keys.pop() ?? '';
    let at: any = doc;
    for (const k of keys) {
      at = at?.[k];
      if (at === undefined) throw new Error(`patch path ${path} does not exist`);
    }
    if (!(last in at)) throw new Error(`patch path ${path} does not exist`);
    at[last] = value;
  }
}

/** The base resources of istio/kustomization.yaml with one overlay's patches applied. */
async function renderOverlay(t: Test, region: string): Promise<Doc[]> {
  const base = await load(join(ISTIO, 'kustomization.yaml'));
  const docs = await Promise.all((base.resources as string[]).map((r) => load(join(ISTIO, r))));
  const overlay = await load(join(OVERLAYS, region, 'kustomization.yaml'));
  t.same(overlay.resources, ['../../istio'], `${region}: built on the istio base`);
  for (const p of overlay.patches as Doc[]) {
    const target = docs.find((d) => d.kind === p.target.kind && d.metadata.name === p.target.name);
    if (target === undefined) throw new Error(`${region}: no ${p.target.kind} ${p.target.name} to patch`);
    applyReplaceOps(target, parse(p.patch));
  }
  return docs;
}

t.test(
  "the Envoy bootstrap's plugin configuration starts the real filter and reaches its sidecar cluster",
  async (t) => {
    // The configuration embedded in envoy.yaml.
    const { pluginConfig } = await envoyBootstrap();

    // The filter starts with it, asks the named cluster on sidecar_path and pulls the snapshot.
    const run = await runFilterWith(pluginConfig);
    t.equal(run.started, true, `starts (${run.errors.join('; ')})`);
    t.equal(run.checkPath, pluginConfig.sidecar_path);
    t.equal(pluginConfig.snapshot_path, SNAPSHOT_PATH, 'the path the sidecar serves the snapshot on');
    t.ok(run.snapshotPulls > 0, 'the snapshot was pulled');
    t.same(run.traps, []);
  },
);

t.test(
  'the bootstrap agrees with the filter configuration and with npm start on names, ports and timeouts',
  async (t) => {
    const { listener, hcm, clusters, filter, pluginConfig } = await envoyBootstrap();
    const cluster = (name: string) => clusters.find((c) => c.name === name);
    const port = (c: Doc | undefined) =>
      c?.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value as number;

    // Ports are npm start's: the listener, the checkout upstream and the sidecar's HTTP edge.
    t.equal(listener.address.socket_address.port_value, DEFAULT_PORTS.dataPlane);
    t.equal(port(cluster('checkout_upstream')), DEFAULT_PORTS.upstream);
    t.equal(port(cluster(SIDECAR_CLUSTER)), DEFAULT_PORTS.sidecarHttp);

    // The dedicated sidecar cluster is the one the filter calls, connects within timeout_ms and is
    // health-checked on the sidecar's readiness endpoint with no panic routing.
    const sidecar = cluster(SIDECAR_CLUSTER);
    t.equal(pluginConfig.sidecar_cluster, SIDECAR_CLUSTER);
    t.equal(sidecar?.type, 'STATIC');
    t.equal(durationMs(sidecar?.connect_timeout), pluginConfig.timeout_ms);
    t.equal(sidecar?.health_checks[0].http_health_check.path, READINESS_PATH);
    t.equal(sidecar?.common_lb_config.healthy_panic_threshold.value, 0);

    // The same sidecar contract as npm start's configuration.
    for (const key of [
      'sidecar_cluster',
      'sidecar_authority',
      'sidecar_path',
      'timeout_ms',
      'max_body_bytes',
    ] as const) {
      t.equal(pluginConfig[key], FILTER_CONFIG[key], key);
    }
    t.equal(pluginConfig.region, REGION);

    // The filter runs in V8 from the freshly built module, fails closed, and sits before the router.
    const config = filter.typed_config.config;
    t.equal(config.vm_config.runtime, 'envoy.wasm.runtime.v8');
    t.equal(config.vm_config.code.local.filename, relative(REPO_ROOT, OUT_PATH));
    t.equal(config.root_id, 'atp_filter');
    t.equal(config.fail_open, false);
    t.same(
      hcm.http_filters.map((f: Doc) => f.name),
      ['envoy.filters.http.wasm', 'envoy.filters.http.router'],
    );
    t.equal(hcm.generate_request_id, true, 'x-request-id exists for the rollout hash');
  },
);

t.test('the WasmPlugin, the EnvoyFilter and the bootstrap carry one plugin configuration', async (t) => {
  // The three places the configuration lives.
  const { pluginConfig: fromBootstrap } = await envoyBootstrap();
  const plugin = await load(join(ISTIO, 'wasm-plugin.yaml'));
  const envoyFilter = await load(join(ISTIO, 'envoy-filter.yaml'));
  const patch = (envoyFilter.spec.configPatches as Doc[]).find((p) => p.applyTo === 'HTTP_FILTER');
  const { filter, pluginConfig: fromEnvoyFilter } = wasmFilterOf([patch?.patch.value]);

  // They are identical, and the WasmPlugin's starts the filter too.
  t.same(plugin.spec.pluginConfig, fromBootstrap);
  t.same(fromEnvoyFilter, fromBootstrap);
  const run = await runFilterWith(plugin.spec.pluginConfig);
  t.equal(run.started, true, `starts (${run.errors.join('; ')})`);

  // Both Istio variants fail closed, like the bootstrap, and run in V8 under the same root id.
  t.equal(plugin.spec.failStrategy, 'FAIL_CLOSE');
  t.equal(filter.typed_config.config.fail_open, false);
  t.equal(filter.typed_config.config.root_id, 'atp_filter');
  t.equal(filter.typed_config.config.vm_config.runtime, 'envoy.wasm.runtime.v8');
  t.equal(patch?.patch.operation, 'INSERT_BEFORE');
  t.equal(patch?.match.listener.filterChain.filter.subFilter.name, 'envoy.filters.http.router');

  // The WasmPlugin and the EnvoyFilter select the same workload and port.
  t.same(envoyFilter.spec.workloadSelector.labels, plugin.spec.selector.matchLabels);
  t.equal(patch?.match.listener.portNumber, plugin.spec.match[0].ports[0].number);
});

t.test('the Istio sidecar cluster mirrors the bootstrap cluster', async (t) => {
  // The CLUSTER patch and the bootstrap's atp-sidecar.
  const { clusters } = await envoyBootstrap();
  const fromBootstrap = clusters.find((c) => c.name === SIDECAR_CLUSTER);
  const doc = await load(join(ISTIO, 'sidecar-cluster.yaml'));
  const patch = (doc.spec.configPatches as Doc[])[0];

  // Added as-is: same name, address, timeouts, health check and limits.
  t.equal(patch?.applyTo, 'CLUSTER');
  t.equal(patch?.patch.operation, 'ADD');
  t.same(patch?.patch.value, fromBootstrap);
});

t.test('the manifests pin the sha256 of the freshly built filter', async (t) => {
  // Build the filter (when stale) and hash it.
  await filterModule();
  const digest = await sha256Of(OUT_PATH);

  // Every pinned digest is that one.
  const pins = await readPins();
  t.equal(pins.length, 2, 'the WasmPlugin and the EnvoyFilter each pin one digest');
  for (const p of pins) {
    t.equal(
      p.sha256,
      digest,
      `${relative(REPO_ROOT, p.file)} is pinned to the built filter (else: npm run mesh:pin)`,
    );
  }
});

t.test(
  'every region overlay renders a configuration for its own region that starts the filter',
  async (t) => {
    // The overlay folders.
    const regions = (await readdir(OVERLAYS, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    t.ok(regions.length >= 2, `regions: ${regions.join(', ')}`);
    t.ok(regions.includes(REGION), 'the local region has an overlay');

    for (const region of regions) {
      // Render the overlay the way kustomize would.
      const docs = await renderOverlay(t, region);
      const plugin = docs.find((d) => d.kind === 'WasmPlugin');
      const cluster = docs.find((d) => d.kind === 'EnvoyFilter' && d.metadata.name === 'atp-sidecar-cluster');

      // Its region is the folder's; the module comes from the in-region registry; the sidecar port is the local one.
      t.equal(plugin?.spec.pluginConfig.region, region, `${region}: region`);
      t.match(
        plugin?.spec.url,
        new RegExp(`^oci://registry\\.${region}\\.`),
        `${region}: in-region registry`,
      );
      const socket =
        cluster?.spec.configPatches[0].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint
          .address.socket_address;
      t.equal(socket?.port_value, DEFAULT_PORTS.sidecarHttp, `${region}: sidecar port`);

      // The rendered configuration starts the filter, which reports that region to the sidecar.
      const run = await runFilterWith(plugin?.spec.pluginConfig);
      t.equal(run.started, true, `${region}: starts (${run.errors.join('; ')})`);
      t.equal(run.region, region, `${region}: sent to the sidecar`);
    }
  },
);

t.test(
  'the DestinationRule fails every region over to another region, with outlier detection on',
  async (t) => {
    // The rule and the regions that have overlays.
    const rule = await load(join(ISTIO, 'destination-rule.yaml'));
    const regions = (await readdir(OVERLAYS, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    const policy = rule.spec.trafficPolicy;

    // Locality failover is on, and each region fails over to a different region we deploy.
    t.equal(policy.loadBalancer.localityLbSetting.enabled, true);
    const failover = policy.loadBalancer.localityLbSetting.failover as Array<{ from: string; to: string }>;
    for (const region of regions) {
      const entry = failover.find((f) => f.from === region);
      t.ok(entry, `${region} has a failover target`);
      t.not(entry?.to, region);
      t.ok(regions.includes(entry?.to ?? ''), `${region} -> ${entry?.to}: a deployed region`);
    }

    // Istio applies failover only with outlier detection: dead endpoints must be ejected.
    t.ok(policy.outlierDetection.consecutive5xxErrors > 0);
    t.equal(policy.outlierDetection.maxEjectionPercent, 100, 'a whole dead region can be ejected');
  },
);

t.test(
  "each failover target's sidecars answer the failed region from escrow (--failover-for), and only those",
  async (t) => {
    // The rule's pairs, and per deployed region what its sidecars are told to fail over for.
    const rule = await load(join(ISTIO, 'destination-rule.yaml'));
    const pairs = rule.spec.trafficPolicy.loadBalancer.localityLbSetting.failover as Array<{
      from: string;
      to: string;
    }>;
    const deployOverlays = join(REPO_ROOT, 'deploy', 'overlays');
    const regions = (await readdir(deployOverlays, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    const registry = defaultRegionRegistry();
    const regionConfig = (region: string, namespace: string) =>
      renderKustomization(join(deployOverlays, region)).find(
        (d) =>
          d.kind === 'ConfigMap' && d.metadata.name === 'atp-region' && d.metadata.namespace === namespace,
      )?.data as Record<string, string> | undefined;
    for (const region of regions) {
      // The budget job keeps this region's budget in the region the mesh fails it over to.
      const atp = regionConfig(region, 'atp');
      const to = pairs.find((p) => p.from === region)?.to;
      t.equal(atp?.ATP_ESCROW_HOLDER, to, `${region}: the budget job escrows to its failover target ${to}`);
      t.equal(
        atp?.ATP_ESCROW_HOLDER_REDIS_URL,
        regionConfig(to ?? '', 'atp')?.ATP_REDIS_URL,
        `${region}: ... into ${to}'s Redis`,
      );
    }
    for (const region of regions) {
      // The rendered overlay's checkout ConfigMap, parsed by the validator `serve` runs on the flag.
      const docs = renderKustomization(join(deployOverlays, region));
      const cm = docs.find(
        (d) =>
          d.kind === 'ConfigMap' && d.metadata.name === 'atp-region' && d.metadata.namespace === 'checkout',
      );
      t.ok(cm, `${region}: ConfigMap atp-region in namespace checkout`);
      const value = cm?.data?.ATP_FAILOVER_FOR;
      t.type(value, 'string', `${region}: ATP_FAILOVER_FOR is set (empty for none)`);
      const origins = parseFailoverFor([value ?? ''], region, registry, cm?.data?.ATP_REDIS_URL ?? null);
      const expected = pairs.filter((p) => p.to === region).map((p) => p.from);
      t.same(
        [...origins].sort(),
        [...expected].sort(),
        `${region} answers from escrow exactly the regions the mesh fails over to it (${expected.join(', ') || 'none'})`,
      );
    }
    // The sidecar container passes the ConfigMap value to the flag.
    const patch = (await load(
      join(REPO_ROOT, 'deploy', 'components', 'checkout-sidecar', 'sidecar-patch.yaml'),
    )) as unknown as Doc[];
    const container = patch.find((op) => op.value?.name === 'atp-sidecar')?.value;
    const args = container.args as string[];
    t.equal(args[args.indexOf('--failover-for') + 1], '$(ATP_FAILOVER_FOR)');
    t.same(container.env.find((e: Doc) => e.name === 'ATP_FAILOVER_FOR')?.valueFrom.configMapKeyRef, {
      name: 'atp-region',
      key: 'ATP_FAILOVER_FOR',
    });
  },
);

t.test(
  "each region's filter forwards exactly the origins its sidecars answer from escrow, stamped by the origin's mesh",
  async (t) => {
    // The rule's pairs; per mesh overlay the rendered WasmPlugin and VirtualService.
    const rule = await load(join(ISTIO, 'destination-rule.yaml'));
    const pairs = rule.spec.trafficPolicy.loadBalancer.localityLbSetting.failover as Array<{
      from: string;
      to: string;
    }>;
    const regions = (await readdir(OVERLAYS, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    const registry = defaultRegionRegistry();
    const rendered = new Map<string, { plugin: Doc; stamp: Record<string, string> }>();
    for (const region of regions) {
      const docs = await renderOverlay(t, region);
      const plugin = docs.find((d) => d.kind === 'WasmPlugin');
      if (plugin === undefined) throw t.fail(`${region}: no WasmPlugin`);
      const vs = docs.find(
        (d) => d.kind === 'VirtualService' && d.metadata.name === 'checkout-origin-region',
      );
      // The VirtualService routes the DestinationRule's host, overwriting (set, never add) one header with its region.
      t.same(vs?.spec.hosts, [rule.spec.host], `${region}: the checkout host`);
      t.same(
        vs?.spec.http[0].route,
        [{ destination: { host: rule.spec.host } }],
        `${region}: same destination`,
      );
      t.equal(
        vs?.spec.http[0].headers.request.add,
        undefined,
        `${region}: no add (a client value would survive)`,
      );
      const stamp = vs?.spec.http[0].headers.request.set as Record<string, string>;
      t.same(stamp, { 'x-atp-origin-region': region }, `${region}: stamps its own region`);
      rendered.set(region, { plugin, stamp });

      // failover_for = the rule's froms for this region = the sidecars' --failover-for (deploy ConfigMap).
      const failoverFor = (plugin.spec.pluginConfig.failover_for ?? []) as string[];
      const expected = pairs.filter((p) => p.to === region).map((p) => p.from);
      t.same(
        [...failoverFor].sort(),
        [...expected].sort(),
        `${region}: failover_for = ${expected.join(', ') || 'none'}`,
      );
      const cm = renderKustomization(join(REPO_ROOT, 'deploy', 'overlays', region)).find(
        (d) =>
          d.kind === 'ConfigMap' && d.metadata.name === 'atp-region' && d.metadata.namespace === 'checkout',
      );
      const sidecarOrigins = parseFailoverFor(
        [cm?.data?.ATP_FAILOVER_FOR ?? ''],
        region,
        registry,
        cm?.data?.ATP_REDIS_URL ?? null,
      );
      t.same([...failoverFor].sort(), [...sidecarOrigins].sort(), `${region}: filter and sidecar agree`);
    }

    // The real filter, configured as `to`, sends a checkout stamped by `from`'s mesh as `from`'s.
    for (const { from, to } of pairs) {
      const target = rendered.get(to);
      const origin = rendered.get(from);
      if (target === undefined || origin === undefined) throw t.fail(`${from} -> ${to}: no overlay`);
      const sidecar = fakeSidecar(() => ({ decision: 'allow' }));
      const vm = await ProxyWasmVm.load(await filterModule(), {
        rootId: 'atp_filter',
        vmId: 'atp',
        pluginConfig: target.plugin.spec.pluginConfig,
        clusters: { [target.plugin.spec.pluginConfig.sidecar_cluster]: sidecar.handler },
      });
      try {
        t.equal(vm.start(), true, `${to} starts`);
        const route = (target.plugin.spec.pluginConfig.routes as Doc[]).find((r) => r.mode === 'enforce');
        const stream = vm.newHttpStream();
        stream.requestHeaders(checkoutHeaders(Object.entries(origin.stamp), route?.prefix ?? '/'), false);
        stream.requestBody(IN_STOCK_BODY, true);
        await stream.settled();
        t.equal(sidecar.requests[0]?.region, from, `${from} -> ${to}: the sidecar is asked for ${from}`);
      } finally {
        vm.close();
      }
    }
  },
);
