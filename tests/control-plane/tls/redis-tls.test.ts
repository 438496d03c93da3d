/**
 * Finding 2 (issue 16): nothing spoke TLS to Redis. `rediss://` works for
 * the sidecar's and the ingester's Redis: a real redis-server with only a
 * TLS port (certificates made on the fly), the real `serve` and ingester
 * processes connect to it and hold connections there. The private CA
 * reaches them the Node way (NODE_EXTRA_CA_CERTS, as the Deployment sets
 * it); without it the sidecar refuses to start (the certificate does not
 * verify: nothing is skipped), and `redis://` to the TLS port gets nothing.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { connectRedis } from '../../../adapters/src/redis/redis-client.js';
import { kcatAvailable, startKafkaMockCluster } from '../../helpers/kafka-mock-cluster.js';
import { freePort, redisServerAvailable } from '../../helpers/redis-server.js';
import { makeTestPki, type TestPki } from '../../helpers/tls-certs.js';
import { tempDir, waitFor } from '../helpers/control-world.js';
import { spawnUntil } from './spawn-until.js';

/** redis-server with its plain port off and a TLS port on. */
async function startTlsRedis(t: Test, pki: TestPki): Promise<number> {
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      pki.server.certPath,
      '--tls-key-file',
      pki.server.keyPath,
      '--tls-ca-cert-file',
      pki.ca.certPath,
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: 'ignore' },
  );
  t.teardown(() => {
    proc.kill('SIGKILL');
  });
  await waitFor(
    async () =>
      (await tlsClient(pki, port)
        .ping()
        .catch(() => null)) === 'PONG',
    10_000,
    'TLS PING',
  );
  return port;
}

const clients: Redis[] = [];
function tlsClient(pki: TestPki, port: number): Redis {
  const c = new Redis(port, '127.0.0.1', {
    tls: { ca: pki.ca.certPem, servername: 'localhost' },
    lazyConnect: false,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    retryStrategy: () => null,
  });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}
t.teardown(() => {
  for (const c of clients) c.disconnect();
});

/** Client names/addresses connected now, besides the asking one. */
async function connectedClients(pki: TestPki, port: number): Promise<number> {
  const list = String(await tlsClient(pki, port).client('LIST'));
  return list.split('\n').filter((l) => l.trim() !== '').length - 1;
}

t.test('rediss:// for the sidecar and the ingester against a TLS-only redis-server', async (t) => {
  if (!redisServerAvailable()) {
    t.fail('redis-server is not installed (apt-get install -y redis-server)');
    return;
  }
  const dir = tempDir(t);
  const pki = makeTestPki(join(dir, 'pki'));
  const port = await startTlsRedis(t, pki);
  const url = `rediss://localhost:${port}`;
  const before = await connectedClients(pki, port);

  // The product's own connect (adapters/redis): without the CA the certificate does not verify and
  // nothing is skipped; plain redis:// to the TLS port gets nothing either.
  const noCa = await connectRedis(url, 'write').then(
    (c) => {
      c.disconnect();
      return 'connected';
    },
    (err: Error) => err.message,
  );
  // ioredis reports the failed handshake as "Connection is closed." (the TLS cause is not surfaced).
  t.not(noCa, 'connected', `no CA: refused (${noCa})`);
  await t.rejects(connectRedis(`redis://localhost:${port}`, 'write'), 'plaintext to the TLS port: refused');
  const withCa = await connectRedis(url, 'write', { tls: { ca: pki.ca.certPem } });
  t.equal(await withCa.ping(), 'PONG', 'with the CA: TLS works');
  withCa.disconnect();

  process.env.NODE_EXTRA_CA_CERTS = pki.ca.certPath;
  t.teardown(() => {
    delete process.env.NODE_EXTRA_CA_CERTS;
  });
  let httpPort = 0;
  const sc = spawnUntil(
    [
      'sidecar/src/main.ts',
      'serve',
      '--region',
      'eu-west',
      '--redis',
      url,
      '--rules-only',
      '--http-port',
      '0',
      '--grpc-port',
      '0',
    ],
    (rec) => {
      if (rec.event !== 'listening') return false;
      httpPort = rec.httpPort as number;
      return true;
    },
  );
  t.teardown(() => sc.kill());
  await sc.started;
  const ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
  t.equal(ready.status, 200, 'the sidecar serves on its rediss:// store');
  const withSidecar = await connectedClients(pki, port);
  t.ok(withSidecar > before, `the sidecar holds TLS connections (${withSidecar - before})`);

  if (!kcatAvailable()) {
    t.fail('kcat is not installed: the ingester half needs the Kafka mock');
    return;
  }
  const kafka = await startKafkaMockCluster(1);
  t.teardown(() => kafka.stop());
  const ing = spawnUntil(
    [
      'ingest/src/main.ts',
      '--region',
      'eu-west',
      '--brokers',
      kafka.brokers.join(','),
      '--redis',
      url,
      '--metrics-host',
      '127.0.0.1',
      '--metrics-port',
      '0',
    ],
    (rec) => rec.msg === 'ingest started',
  );
  t.teardown(() => ing.kill());
  await ing.started;
  await sleep(200);
  t.ok((await connectedClients(pki, port)) > withSidecar, 'the ingester holds TLS connections too');
});
