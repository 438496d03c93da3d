/** Validate(raw) -> Config: defaults, store URLs, and errors that name the setting. */
import t from 'tap';
import { validateControlPlaneConfig } from '../../control-plane/src/config.js';
import { parseStoreUrl } from '../../control-plane/src/store/create-control-store.js';

t.test('defaults', async (t) => {
  const c = validateControlPlaneConfig({});
  t.same(
    [c.host, c.httpPort, c.grpcPort, c.store],
    ['127.0.0.1', 7070, 7071, { kind: 'sqlite', path: 'control-plane.db' }],
  );
});

t.test('store URLs: sqlite paths, postgres with a schema', async (t) => {
  t.same(parseStoreUrl('sqlite:/var/lib/atp/cp.db'), { kind: 'sqlite', path: '/var/lib/atp/cp.db' });
  t.same(parseStoreUrl('cp.db'), { kind: 'sqlite', path: 'cp.db' });
  t.same(parseStoreUrl('postgres://atp@db:5432/atp?schema=control'), {
    kind: 'postgres',
    url: 'postgres://atp@db:5432/atp',
    schema: 'control',
  });
  t.throws(() => parseStoreUrl('mysql://x'), { code: 'ATP_ERR_CONFIG_INVALID', field: 'db' });
});

t.test('bad settings are refused naming the field', async (t) => {
  const cases: [Record<string, unknown>, string][] = [
    [{ httpPort: 70_000 }, 'httpPort'],
    [{ grpcPort: 'x' }, 'grpcPort'],
    [{ trustedKeys: [''] }, 'trustedKeys'],
    [{ bootstrapTokens: [{ name: 'a', role: 'root', token: 'x'.repeat(20) }] }, 'bootstrapTokens[0].role'],
    [{ bootstrapTokens: [{ name: 'a', role: 'admin', token: 'short' }] }, 'bootstrapTokens[0].token'],
    [{ watchHeartbeatMs: 5 }, 'watchHeartbeatMs'],
    [{ db: 'oracle:x' }, 'db'],
  ];
  for (const [raw, field] of cases) {
    t.throws(
      () => validateControlPlaneConfig(raw),
      { code: 'ATP_ERR_CONFIG_INVALID', field },
      JSON.stringify(raw),
    );
  }
});

t.test('issue 16 settings: defaults, and bad values refused naming the field', async (t) => {
  const c = validateControlPlaneConfig({ db: 'sqlite:/var/lib/atp/cp.db' });
  t.same(
    [c.stateDir, c.tls, c.maxStreamsPerToken, c.signingKeyPath],
    ['/var/lib/atp', null, 4, null],
    'the generated signing key lives beside the SQLite file; no TLS unless configured',
  );
  t.equal(validateControlPlaneConfig({ db: 'sqlite::memory:' }).stateDir, null);
  t.same(validateControlPlaneConfig({ tlsCert: 'c.pem', tlsKey: 'k.pem', tlsClientCa: 'ca.pem' }).tls, {
    certPath: 'c.pem',
    keyPath: 'k.pem',
    clientCaPath: 'ca.pem',
  });
  const cases: [Record<string, unknown>, string][] = [
    [{ db: 'postgres://db/atp' }, 'signingKey'],
    [{ maxStreamsPerToken: 0 }, 'maxStreamsPerToken'],
    [{ auditRetentionDays: 0 }, 'auditRetentionDays'],
    [{ tlsKey: 'k.pem' }, 'tlsCert'],
    [
      { bootstrapTokens: [{ name: 'a', role: 'viewer', token: 'x'.repeat(20), sidecarId: 'bad id' }] },
      'bootstrapTokens[0].sidecarId',
    ],
  ];
  for (const [raw, field] of cases) {
    t.throws(
      () => validateControlPlaneConfig(raw),
      { code: 'ATP_ERR_CONFIG_INVALID', field },
      JSON.stringify(raw),
    );
  }
});
