import { spawnSync } from 'node:child_process';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import t from 'tap';
import { createRedisClient } from '../../adapters/src/redis/redis-client.js';
import { RedisFeatureStore } from '../../adapters/src/redis/redis-feature-store.js';
import { RedisStreamHealthReader } from '../../adapters/src/redis/redis-stream-health.js';
import { R } from '../../features/src/record-layout.js';
import { DLQ_HEADERS } from '../../ingest/src/adapters/kafka/kafka-dead-letter-sink.js';
import { metricValue } from '../../ingest/src/ingest-metrics.js';
import { encodeEvent, type InventoryEvent } from '../../proto/v1/inventory-event.js';
import { partitionForKey } from '../../proto/v1/partition-for-key.js';
import { ev, T0 } from '../helpers/events.js';
import {
  diffWithRedis,
  freshRegion,
  ingestConfig,
  produce,
  referenceOf,
  startIngester,
  startIngestRig,
  stockStream,
  topicOf,
  waitCaughtUp,
  waitFor,
} from './ingest-rig.js';

const { cluster, redis, admin, prod } = await startIngestRig(t);

t.test(
  'events produced to the region topic land in Redis, offsets are committed after them, and lag is published',
  async (t) => {
    const region = freshRegion('happy');
    const events = stockStream('H', 30, 12);
    // Produce the stream, then start an ingester that reads it from the beginning.
    await produce(prod, topicOf(region), events);
    const config = ingestConfig(region, cluster.brokers, redis.url);
    const ing = await startIngester(config);
    t.teardown(() => ing.stop());
    await waitCaughtUp(admin, config.groupId, config.topic, events.length);
    // Redis holds exactly what the shared feature module computes from the same events.
    const diff = await diffWithRedis(redis.url, region, referenceOf(events));
    t.equal(diff.pairs, 30);
    t.same(diff.mismatches, []);
    t.equal(
      await metricValue(ing.metrics.registry, 'atp_ingest_events_total', { result: 'applied' }),
      events.length,
    );
    // The lag the sidecar reads says: caught up, owned by this ingester, and which partition carries a SKU.
    await ing.reportLag();
    const client = await createRedisClient(redis.url, 'read');
    t.teardown(() => client.disconnect());
    const reader = new RedisStreamHealthReader(client, region);
    await reader.refresh();
    const reports = reader.reports();
    t.same(
      reports.map((r) => r.partition),
      [0, 1, 2, 3],
    );
    t.ok(reports.every((r) => r.offsetLag === 0 && r.lagMs === 0 && r.owner === config.clientId));
    t.equal(reader.partitionOf('H-SKU-1'), partitionForKey('H-SKU-1', 4));
    t.equal(reader.lagMsFor('H-SKU-1', Date.now()), 0);
    t.equal(ing.health().healthy, true);
  },
);

t.test(
  'a malformed message goes to the dead-letter topic with its reason and origin, and consumption goes on',
  async (t) => {
    const region = freshRegion('dlq');
    const topic = topicOf(region);
    const good = [ev('receipt', 7, 1, { sku: 'D-1' }), ev('sale', 2, 2, { sku: 'D-1' })];
    // A valid event, a record whose quantity is a string, another valid event.
    await produce(prod, topic, [good[0]!]);
    const badValue = encodeEvent(ev('sale', 1, 2, { sku: 'D-1' })).replace('"quantity":1', '"quantity":"1"');
    await prod.send(topic, [{ key: 'D-1', value: badValue }]);
    await produce(prod, topic, [good[1]!]);
    const config = ingestConfig(region, cluster.brokers, redis.url);
    const ing = await startIngester(config);
    t.teardown(() => ing.stop());
    await waitCaughtUp(admin, config.groupId, topic, 3);
    // Both valid events are applied around the bad one.
    t.same((await diffWithRedis(redis.url, region, referenceOf(good))).mismatches, []);
    t.equal(
      await metricValue(ing.metrics.registry, 'atp_ingest_dead_letters_total', {
        code: 'ATP_ERR_INVALID_FIELD',
      }),
      1,
    );
    // The dead letter carries the original bytes and says why and where from.
    const letters = await consumeAll(config.deadLetterTopic, 1);
    const h = letters[0]!.headers!;
    const header = (name: string) => String(h[name]);
    t.equal(letters[0]!.value!.toString(), badValue);
    t.equal(letters[0]!.key!.toString(), 'D-1');
    t.equal(header(DLQ_HEADERS.code), 'ATP_ERR_INVALID_FIELD');
    t.equal(header(DLQ_HEADERS.field), 'quantity');
    t.match(header(DLQ_HEADERS.reason), /expected an integer/);
    t.equal(header(DLQ_HEADERS.topic), topic);
    t.equal(header(DLQ_HEADERS.partition), String(partitionForKey('D-1', 4)));
    t.equal(header(DLQ_HEADERS.offset), '1');
  },
);

t.test('a burst of duplicates, partly reordered, leaves the state of one in-order delivery', async (t) => {
  const region = freshRegion('dup');
  const events = stockStream('B', 12, 10);
  // Every event five times: in order, reversed, then three more in order.
  const burst: InventoryEvent[] = [...events, ...[...events].reverse(), ...events, ...events, ...events];
  await produce(prod, topicOf(region), burst);
  const config = ingestConfig(region, cluster.brokers, redis.url);
  const ing = await startIngester(config);
  t.teardown(() => ing.stop());
  await waitCaughtUp(admin, config.groupId, config.topic, burst.length);
  t.same((await diffWithRedis(redis.url, region, referenceOf(events))).mismatches, []);
  const reg = ing.metrics.registry;
  t.equal(
    await metricValue(reg, 'atp_ingest_events_total', { result: 'applied' }),
    events.length,
    'each event applied once',
  );
  t.equal(
    await metricValue(reg, 'atp_ingest_events_total', { result: 'duplicate' }),
    burst.length - events.length,
  );
});

t.test(
  'an event produced by kcat (librdkafka, murmur2 partitioner) is ingested like any other',
  async (t) => {
    const region = freshRegion('kcat');
    const topic = topicOf(region);
    const e = ev('receipt', 12, 1, { sku: 'KCAT-1', node: 'ST-9', atMs: T0 });
    // The documented recipe: one "key|json" line per message.
    const line = `KCAT-1|${encodeEvent(e)}\n`;
    const run = spawnSync(
      'kcat',
      ['-P', '-b', cluster.brokers.join(','), '-t', topic, '-K', '|', '-X', 'partitioner=murmur2_random'],
      { input: line, encoding: 'utf8', timeout: 20_000 },
    );
    t.equal(run.status, 0, `kcat -P exited cleanly ${run.stderr}`);
    const config = ingestConfig(region, cluster.brokers, redis.url);
    const ing = await startIngester(config);
    t.teardown(() => ing.stop());
    await waitCaughtUp(admin, config.groupId, topic, 1);
    const client = await createRedisClient(redis.url, 'write');
    t.teardown(() => client.disconnect());
    const pair = await new RedisFeatureStore(client, region).readPair('KCAT-1', 'ST-9');
    t.equal(pair.rec[R.onHand], 12);
    // librdkafka's murmur2_random put it where kafkajs and the sidecar expect it.
    t.equal(await metricValue(ing.metrics.registry, 'atp_ingest_misrouted_total'), 0);
  },
);

async function consumeAll(topic: string, count: number): Promise<KafkaMessage[]> {
  const kafka = new Kafka({ clientId: 'dlq-reader', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `dlq-reader-${topic}` });
  const got: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      got.push(message);
    },
  });
  await waitFor(() => got.length >= count, 30_000, `${count} message(s) on ${topic}`);
  await consumer.disconnect();
  return got;
}
