import t from 'tap';
import { validateIngestConfig } from '../../ingest/src/ingest-config.js';
import { parseIngestArgs } from '../../ingest/src/main.js';

const base = { region: 'eu-west', brokers: '127.0.0.1:9092', redisUrl: 'redis://127.0.0.1:6379' };

t.test('a minimal config gets the documented defaults and region-derived names', async (t) => {
  const c = validateIngestConfig(base);
  t.equal(c.topic, 'inventory.mutations.eu-west');
  t.equal(c.deadLetterTopic, 'inventory.mutations.eu-west.dlq');
  t.equal(c.groupId, 'atp-ingest-eu-west');
  t.same(c.brokers, ['127.0.0.1:9092']);
  t.equal(c.fromBeginning, true);
  t.equal(c.sessionTimeoutMs, 30_000);
  t.equal(c.heartbeatIntervalMs, 3_000);
  t.equal(c.metricsPort, 9464);
  t.equal(
    c.metricsHost,
    '127.0.0.1',
    'metrics and health bind loopback unless --metrics-host says otherwise',
  );
  t.equal(c.maxWaitTimeMs, 100, 'a fetch waits at most 100 ms for data');
});

t.test('every invalid field is rejected with an error naming it', async (t) => {
  const bad: [Record<string, unknown>, string][] = [
    [{ ...base, region: 'EU West' }, 'region'],
    [{ ...base, brokers: '' }, 'brokers'],
    [{ ...base, brokers: 'localhost' }, 'brokers'],
    [{ ...base, redisUrl: 'http://x' }, 'redisUrl'],
    [{ ...base, sessionTimeoutMs: 500 }, 'sessionTimeoutMs'],
    [{ ...base, sessionTimeoutMs: 6000, heartbeatIntervalMs: 3000 }, 'heartbeatIntervalMs'],
    [{ ...base, partitionsConsumedConcurrently: '2.5' }, 'partitionsConsumedConcurrently'],
    [{ ...base, metricsPort: 70000 }, 'metricsPort'],
    [{ ...base, logLevel: 'loud' }, 'logLevel'],
    [{ ...base, topic: 'has space' }, 'topic'],
    [{ ...base, maxWaitTimeMs: 0 }, 'maxWaitTimeMs'],
  ];
  for (const [raw, field] of bad) {
    t.throws(() => validateIngestConfig(raw), { code: 'ATP_ERR_INGEST_CONFIG', field }, field);
  }
});

t.test('CLI flags map onto the config, and errors name the flag the user typed', async (t) => {
  const c = parseIngestArgs([
    '--brokers',
    'a:1,b:2',
    '--redis',
    'redis://r:6379',
    '--region',
    'us-east',
    '--concurrency',
    '2',
    '--metrics-port',
    'off',
    '--from-latest',
    '--max-wait-ms',
    '250',
  ]);
  t.same(c.brokers, ['a:1', 'b:2']);
  t.equal(c.partitionsConsumedConcurrently, 2);
  t.equal(c.metricsPort, null);
  t.equal(c.fromBeginning, false);
  t.equal(c.maxWaitTimeMs, 250);
  t.throws(
    () =>
      parseIngestArgs(['--brokers', 'a:1', '--redis', 'redis://r', '--region', 'x', '--concurrency', 'many']),
    { field: '--concurrency', message: /--concurrency/ },
  );
  t.throws(
    () => parseIngestArgs(['--brokers', 'a:1', '--region', 'x']),
    { code: 'ATP_ERR_INGEST_CONFIG', field: '--redis' },
    'missing --redis',
  );
  t.throws(() => parseIngestArgs(['--bogus']), { code: 'ATP_ERR_INGEST_CONFIG' }, 'unknown flag');
});
