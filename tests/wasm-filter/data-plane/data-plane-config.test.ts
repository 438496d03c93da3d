import t from 'tap';
import {
  DEFAULT_PORT,
  DEFAULT_SIDECAR_CLUSTER,
  hostPortFlag,
  routeFlag,
  validateDataPlaneFlags,
} from '../../../wasm-filter/data-plane/data-plane-config.js';

const REQUIRED = { upstream: '127.0.0.1:8081', sidecar: '127.0.0.1:8090' };

t.test('flags build the plugin configuration: region, routes, timeout, defaults', async (t) => {
  const config = validateDataPlaneFlags({
    ...REQUIRED,
    region: 'eu-west',
    route: ['/checkout=enforce', '/checkout/gift=shadow'],
    timeoutMs: '40',
  });
  t.equal(config.port, DEFAULT_PORT);
  t.same(config.upstream, { host: '127.0.0.1', port: 8081 });
  t.same(config.sidecar, { host: '127.0.0.1', port: 8090 });
  t.equal(config.sidecarCluster, DEFAULT_SIDECAR_CLUSTER);
  t.same(config.pluginConfig, {
    sidecar_cluster: 'atp-sidecar',
    region: 'eu-west',
    timeout_ms: 40,
    routes: [
      { prefix: '/checkout', mode: 'enforce' },
      { prefix: '/checkout/gift', mode: 'shadow' },
    ],
  });

  // Without --route: /checkout enforced; without --timeout-ms: the filter's own default.
  const defaults = validateDataPlaneFlags({ ...REQUIRED, region: 'eu-west' });
  t.same(defaults.pluginConfig, {
    sidecar_cluster: 'atp-sidecar',
    region: 'eu-west',
    routes: [{ prefix: '/checkout', mode: 'enforce' }],
  });
});

t.test('a plugin configuration file is taken whole; its sidecar cluster gets --sidecar', async (t) => {
  const file = {
    sidecar_cluster: 'atp-sidecar-eu',
    region: 'eu-west',
    routes: [{ prefix: '/co', mode: 'off' }],
  };
  const config = validateDataPlaneFlags({ ...REQUIRED, pluginConfig: 'p.json' }, () => JSON.stringify(file));
  t.same(config.pluginConfig, file);
  t.equal(config.sidecarCluster, 'atp-sidecar-eu');
  t.equal(config.pluginConfigFlag, '--plugin-config');
  t.throws(
    () => validateDataPlaneFlags({ ...REQUIRED, pluginConfig: 'p.json' }, () => '{"region":"eu-west"}'),
    /--plugin-config: p.json: sidecar_cluster/,
  );
  t.throws(
    () => validateDataPlaneFlags({ ...REQUIRED, pluginConfig: 'p.json' }, () => 'not json'),
    /--plugin-config: cannot read p.json as JSON/,
  );
});

t.test('host:port and route flags are checked, naming the flag', async (t) => {
  t.same(hostPortFlag('[::1]:8090', '--sidecar'), { host: '::1', port: 8090 });
  t.same(hostPortFlag('sidecar.local:1', '--sidecar'), { host: 'sidecar.local', port: 1 });
  for (const bad of ['8090', 'host:', ':8090', 'host:0', 'host:65536', 'a b:1']) {
    t.throws(() => hostPortFlag(bad, '--sidecar'), /--sidecar: expected host:port/, bad);
  }
  t.same(routeFlag('/checkout=shadow'), { prefix: '/checkout', mode: 'shadow' });
  for (const bad of ['/checkout', 'checkout=enforce', '/checkout=', '=enforce']) {
    t.throws(() => routeFlag(bad), /--route: /, bad);
  }
  t.throws(() => validateDataPlaneFlags({ ...REQUIRED }), /--region: required/);
  t.throws(() => validateDataPlaneFlags({ ...REQUIRED, region: 'eu-west', host: ' ' }), /--host: /);
});
