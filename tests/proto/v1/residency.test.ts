/**
 * The residency guard (proto/v1/residency.ts): user-level data is cleared
 * only for its own region's destinations, aggregates only along the
 * registry's flows; a topic's region is its last word; brokers and Redis
 * endpoints belong to the region whose registry entry names them.
 */
import t from 'tap';
import { parseRegionRegistryFile } from '../../../adapters/src/regions/region-registry-file.js';
import { defaultRegionRegistry } from '../../../proto/v1/region-registry.js';
import {
  assertClearedTopic,
  isClearance,
  ResidencyGuard,
  regionOfTopic,
} from '../../../proto/v1/residency.js';

const registry = parseRegionRegistryFile({
  regions: [
    {
      name: 'eu-west',
      residency: 'eu-gdpr',
      redis_url: 'redis://redis.eu-west:6379',
      kafka_brokers: ['kafka-1.eu-west:9092', 'kafka-2.eu-west:9092'],
      flows: [{ to: 'us-east', kinds: ['metrics', 'model-bundle'] }],
    },
    {
      name: 'us-east',
      residency: 'us',
      redis_url: 'redis://redis.us-east:6379',
      kafka_brokers: ['kafka-1.us-east:9092'],
      flows: [{ to: 'eu-west', kinds: ['metrics'] }],
    },
    { name: 'eu-central', residency: 'eu-gdpr', flows: [] },
  ],
});

t.test('a topic carries its region in its last word, a .dlq suffix aside', async (t) => {
  t.equal(regionOfTopic('atp.decisions.eu-west'), 'eu-west');
  t.equal(regionOfTopic('inventory.mutations.us-east.dlq'), 'us-east');
  t.equal(regionOfTopic('order.outcomes.eu_west'), null, 'not a region name: no region');
  t.equal(regionOfTopic('plain-topic'), null);
});

t.test('an unknown or malformed own region is refused naming the field', async (t) => {
  t.throws(() => new ResidencyGuard(registry, 'eu-wset', '--region'), {
    field: '--region',
    message: /unknown region "eu-wset" \(known regions: eu-central, eu-west, us-east\)/,
  });
  t.throws(() => new ResidencyGuard(registry, 'eu_west', '--region'), { field: '--region', message: /./ });
});

t.test('user-level data is cleared only for the own region', async (t) => {
  const g = new ResidencyGuard(registry, 'eu-west');
  const own = g.clear(
    'user-level',
    { kind: 'topic', topic: 'atp.decisions.eu-west', brokers: ['kafka-1.eu-west:9092'] },
    'decision-stream',
  );
  t.ok(isClearance(own));
  t.same([own.from, own.to, own.registryVersion], ['eu-west', 'eu-west', 1]);
  t.doesNotThrow(() => assertClearedTopic(own, 'user-level', 'atp.decisions.eu-west'));
  t.throws(() => assertClearedTopic(own, 'metrics', 'atp.decisions.eu-west'), {
    field: 'clearance',
    message: /./,
  });
  t.throws(() => assertClearedTopic({ ...own }, 'user-level', 'atp.decisions.eu-west'), {
    message: /not minted/,
  });
  t.throws(() => g.clear('user-level', { kind: 'topic', topic: 'atp.decisions.us-east' }, 'topic'), {
    code: 'ATP_ERR_RESIDENCY',
    field: 'topic',
    message: /us-east's: user-level data of eu-west never leaves/,
  });
  t.throws(
    () =>
      g.clear(
        'user-level',
        { kind: 'topic', topic: 'atp.decisions.eu-west', brokers: ['KAFKA-1.us-east:9092'] },
        'decision-stream',
      ),
    { field: 'decision-stream', message: /broker KAFKA-1.us-east:9092 is us-east's/ },
    "our topic on another region's brokers",
  );
  t.throws(() => g.clear('user-level', { kind: 'topic', topic: 'orders' }, 'topic'), {
    message: /names no region/,
  });
  t.throws(() => g.clear('user-level', { kind: 'topic', topic: 'atp.decisions.mars-1' }, 'topic'), {
    message: /unknown region "mars-1"/,
  });
  t.throws(() => g.checkRedis('redis://redis.us-east:6379/0', '--redis'), {
    field: '--redis',
    message: /Redis redis.us-east:6379 is us-east's/,
  });
  t.doesNotThrow(() => g.checkRedis('redis://127.0.0.1:6390', '--redis'), 'not named by the registry');
  t.throws(() => g.checkBrokers(['kafka-1.us-east:9092'], '--brokers'), { field: '--brokers', message: /./ });
  t.throws(
    () => g.clear('user-level', { kind: 'file', path: '/exports/x.csv', region: 'us-east' }, '--csv-region'),
    { field: '--csv-region', message: /./ },
  );
  t.equal(g.clear('user-level', { kind: 'file', path: '/var/log/d.ndjson' }, 'f').to, 'eu-west');
});

t.test('aggregates cross only along the flows the registry allows', async (t) => {
  const g = new ResidencyGuard(registry, 'eu-west');
  const to = (region: string) => ({ kind: 'file' as const, path: '/x', region });
  t.equal(g.clear('metrics', to('us-east'), 'f').to, 'us-east');
  t.equal(g.clear('model-bundle', to('us-east'), 'f').to, 'us-east');
  t.throws(() => g.clear('training-histogram', to('us-east'), 'f'), {
    message: /allows no training-histogram flow from eu-west to us-east/,
  });
  t.throws(() => g.clear('metrics', to('eu-central'), 'f'), { message: /no metrics flow/ });
  t.throws(() => g.clear('buyer-id' as never, to('eu-west'), 'f'), { field: 'data', message: /./ });
});

t.test('the default registry knows the three shipped regions', async (t) => {
  const g = new ResidencyGuard(defaultRegionRegistry(), 'eu-central');
  t.equal(g.clear('training-histogram', { kind: 'file', path: '/h', region: 'us-east' }, 'f').to, 'us-east');
});

t.test('a regions file is a control-plane file or a served registry', async (t) => {
  t.equal(parseRegionRegistryFile([{ name: 'eu-west', residency: 'open' }]).version, 1);
  t.equal(
    parseRegionRegistryFile({
      schema: 'atp.region-registry.v1',
      version: 7,
      regions: [{ name: 'eu-west', residency: 'open' }],
    }).version,
    7,
  );
  t.throws(() => parseRegionRegistryFile({ regions: [{ name: 'eu_west', residency: 'open' }] }), {
    field: 'regions[0].name',
    message: /eu_west/,
  });
  t.throws(() => parseRegionRegistryFile({ regions: [], version: 1 }), { field: 'regions', message: /./ });
});
