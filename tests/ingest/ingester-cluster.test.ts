/**
 * The ingester on Redis Cluster (a real local cluster: three primaries,
 * three replicas): chosen by the `redis+cluster://` URL, it spreads a stream
 * over every primary, and when a primary is killed mid-stream and its
 * replica promoted, it retries (committing nothing it could not make
 * durable) and resumes without loss: the store ends equal to the reference
 * view of the stream.
 */
import t from 'tap';
import { skuKey } from '../../adapters/src/redis/redis-keys.js';
import { metricValue } from '../../ingest/src/ingest-metrics.js';
import { startKafkaMockCluster } from '../helpers/kafka-mock-cluster.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { scrapeMetric, spawnIngestCli } from './ingest-process.js';
import {
  adminOf,
  diffWithRedis,
  feed,
  freshRegion,
  ingestConfig,
  produce,
  producer,
  referenceOf,
  startIngester,
  stockStream,
  topicOf,
  waitCaughtUp,
  waitFor,
} from './ingest-rig.js';

const SUBTEST_TIMEOUT_MS = 180_000;

const kafka = await startKafkaMockCluster();
const cluster = await startRedisCluster();
const admin = await adminOf(kafka.brokers);
const prod = await producer(kafka.brokers);
t.teardown(async () => {
  await prod.stop();
  await admin.disconnect();
  await kafka.stop();
  await cluster.stop();
});

t.test(
  'the ingester CLI given a redis+cluster:// URL applies a stream across every primary',
  { timeout: SUBTEST_TIMEOUT_MS },
  async (t) => {
    const region = freshRegion('cluster');
    const topic = topicOf(region);
    const events = stockStream('CL', 90, 8);
    await produce(prod, topic, events);
    const ing = await spawnIngestCli({ brokers: kafka.brokers, redisUrl: cluster.url, region });
    t.teardown(() => ing.kill());
    await waitCaughtUp(admin, `atp-ingest-${region}`, topic, events.length);
    const diff = await diffWithRedis(cluster.url, region, referenceOf(events));
    t.equal(diff.pairs, 90);
    t.same(diff.mismatches, []);
    t.equal(
      await scrapeMetric(ing.metricsPort, 'atp_ingest_events_total', { result: 'applied' }),
      events.length,
    );
    // The SKUs' hashes live on all three primaries (so batches really were split per node).
    const owners = new Set<number>();
    for (const e of events.slice(0, 90)) owners.add(await cluster.primaryOf(skuKey(region, e.sku)));
    t.equal(owners.size, 3, 'the stream spans every primary');
    ing.proc.kill('SIGTERM');
    t.equal(await ing.exited, 0);
  },
);

t.test(
  'a primary killed mid-stream: its replica is promoted and the ingester resumes without loss',
  { timeout: SUBTEST_TIMEOUT_MS },
  async (t) => {
    const region = freshRegion('failover');
    const topic = topicOf(region);
    const events = stockStream('FO', 60, 40);
    const config = ingestConfig(region, kafka.brokers, cluster.url);
    const ing = await startIngester(config);
    t.teardown(() => ing.stop());
    const feeding = feed(prod, topic, events, 40, 12_000);
    const applied = () => metricValue(ing.metrics.registry, 'atp_ingest_events_total', { result: 'applied' });
    await waitFor(async () => (await applied()) >= 400, 30_000, 'part of the stream to be applied');

    // Kill the primary holding the first SKU: a crash, with writes in flight.
    const victim = await cluster.primaryOf(skuKey(region, events[0]!.sku));
    const killedAt = Date.now();
    await cluster.kill(victim);
    const promoted = await cluster.waitForFailover(victim);
    t.comment(`primary ${victim} killed; replica ${promoted} promoted after ${Date.now() - killedAt} ms`);

    await feeding;
    await waitCaughtUp(admin, config.groupId, topic, events.length, 90_000);
    const retries = await metricValue(ing.metrics.registry, 'atp_ingest_batch_retries_total');
    t.comment(`batches retried while the slot moved: ${retries}`);
    t.same(
      (await diffWithRedis(cluster.url, region, referenceOf(events))).mismatches,
      [],
      'no write the ingester committed past was lost',
    );
    await waitFor(() => ing.health().healthy, 30_000, 'health to recover');

    // The dead node comes back as a replica of the new primary; ingestion goes on, replicated again.
    await cluster.restart(victim);
    await cluster.waitHealthy();
    const more = stockStream('FO', 60, 5, 41);
    await produce(prod, topic, more);
    await waitCaughtUp(admin, config.groupId, topic, events.length + more.length, 60_000);
    t.same((await diffWithRedis(cluster.url, region, referenceOf([...events, ...more]))).mismatches, []);
    t.notOk((await cluster.primaries()).includes(victim), 'the restarted node rejoined as a replica');
  },
);
