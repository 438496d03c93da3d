/**
 * Finding 2 (issue 16): Kafka travelled in clear, and no entry point could
 * ask otherwise. The ingester now takes --kafka-tls / --kafka-ca and SASL
 * (--kafka-sasl-mechanism/-username/-password-file, refused without TLS),
 * and they reach kafkajs: the real ingester process speaks TLS to a broker
 * address (a TLS listener with a certificate made on the fly records what
 * arrives after the handshake: a Kafka request with the ingester's client
 * id); without the CA the handshake fails and nothing is sent.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import t from 'tap';
import { createKafkaClient } from '../../../adapters/src/kafka/kafka-client.js';
import { kafkajsSecurityOptions } from '../../../adapters/src/kafka/kafka-security.js';
import { parseIngestArgs } from '../../../ingest/src/main.js';
import { createLogger } from '../../../platform/src/logger.js';
import { startRedisServer } from '../../helpers/redis-server.js';
import { makeTestPki, type TestPki } from '../../helpers/tls-certs.js';
import { tempDir, waitFor } from '../helpers/control-world.js';
import { spawnUntil } from './spawn-until.js';

const silent = createLogger({ level: 'silent' });

/** A TLS listener standing in for a broker: records the bytes each connection sends after the handshake. */
async function fakeTlsBroker(t: Parameters<typeof tempDir>[0], pki: TestPki) {
  const seen = { received: Buffer.alloc(0), handshakeErrors: 0 };
  const sockets = new Set<TLSSocket>();
  const server = createTlsServer({ cert: pki.server.certPem, key: pki.server.keyPem }, (s) => {
    sockets.add(s);
    s.on('data', (d: Buffer) => {
      seen.received = Buffer.concat([seen.received, d]);
    });
    s.on('error', () => undefined);
  });
  server.on('tlsClientError', () => {
    seen.handshakeErrors++;
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port, seen };
}

const base = ['--region', 'eu-west', '--redis', 'redis://127.0.0.1:6379'];

t.test('the Kafka security flags: SASL needs TLS; errors name the flag', async (t) => {
  const dir = tempDir(t);
  const pki = makeTestPki(join(dir, 'pki'));
  const pw = join(dir, 'pw');
  writeFileSync(pw, 's3cret\n');
  const sasl = ['--kafka-sasl-username', 'atp-ingest', '--kafka-sasl-password-file', pw];
  const cfg = parseIngestArgs([...base, '--brokers', 'b:9093', '--kafka-ca', pki.ca.certPath, ...sasl]);
  t.same(cfg.kafkaSecurity?.sasl, { mechanism: 'scram-sha-512', username: 'atp-ingest', password: 's3cret' });
  t.match(cfg.kafkaSecurity?.tls?.ca, /BEGIN CERTIFICATE/);
  const mapped = kafkajsSecurityOptions(cfg.kafkaSecurity);
  t.same(mapped.sasl, { mechanism: 'scram-sha-512', username: 'atp-ingest', password: 's3cret' });
  t.same(mapped.ssl, { ca: [pki.ca.certPem] }, 'what kafkajs is given');
  t.equal(parseIngestArgs([...base, '--brokers', 'b:9092']).kafkaSecurity, null, 'plaintext when no flag');
  t.same(parseIngestArgs([...base, '--brokers', 'b:9093', '--kafka-tls']).kafkaSecurity, {
    tls: { ca: null },
    sasl: null,
  });
  const refusal = (args: string[]) => {
    try {
      parseIngestArgs([...base, '--brokers', 'b:9093', ...args]);
      return 'accepted';
    } catch (err) {
      return `${(err as { field?: string }).field}`;
    }
  };
  t.equal(refusal(sasl), '--kafka-tls', 'SASL in clear is refused');
  t.equal(refusal(['--kafka-tls', '--kafka-sasl-username', 'u']), '--kafka-sasl-password-file');
  t.equal(refusal(['--kafka-tls', '--kafka-sasl-mechanism', 'gssapi', ...sasl]), '--kafka-sasl-mechanism');
  t.equal(refusal(['--kafka-ca', join(dir, 'missing.pem')]), '--kafka-ca');
});

t.test(
  'the flags reach kafkajs: the real ingester speaks TLS to the broker, nothing without the CA',
  async (t) => {
    const dir = tempDir(t);
    const pki = makeTestPki(join(dir, 'pki'));
    const broker = await fakeTlsBroker(t, pki);

    // In process, without the CA: the handshake fails, no byte of Kafka is sent.
    const untrusting = createKafkaClient({
      brokers: [`localhost:${broker.port}`],
      clientId: 'no-ca',
      logger: silent,
      security: { tls: { ca: null }, sasl: null },
    }).admin();
    void untrusting.connect().catch(() => undefined);
    await waitFor(() => broker.seen.handshakeErrors >= 1, 10_000, 'a refused handshake');
    await untrusting.disconnect().catch(() => undefined);
    t.equal(broker.seen.received.length, 0, 'nothing sent to an unverified broker');

    // The ingester process, from its flags.
    const redis = await startRedisServer();
    t.teardown(() => redis.stop());
    const ing = spawnUntil(
      [
        'ingest/src/main.ts',
        '--region',
        'eu-west',
        '--brokers',
        `localhost:${broker.port}`,
        '--kafka-ca',
        pki.ca.certPath,
        '--client-id',
        'atp-ingest-tls-test',
        '--redis',
        redis.url,
        '--metrics-port',
        'off',
      ],
      () => false,
    );
    t.teardown(() => ing.kill());
    await waitFor(
      () => broker.seen.received.includes('atp-ingest-tls-test'),
      30_000,
      'a Kafka request over TLS from the ingester',
    );
    t.pass('the ingester sent its Kafka request over a verified TLS connection');
  },
);
