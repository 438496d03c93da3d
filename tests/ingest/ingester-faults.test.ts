import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { createRedisClient } from '../../adapters/src/redis/redis-client.js';
import { RedisFeatureStore } from '../../adapters/src/redis/redis-feature-store.js';
import { metricValue } from '../../ingest/src/ingest-metrics.js';
import { createIngester } from '../../ingest/src/ingester.js';
import type { InventoryEvent } from '../../proto/v1/inventory-event.js';
import { createBrokerLink, TcpProxy } from '../helpers/kafka-mock-cluster.js';
import {
  diffWithRedis,
  freshRegion,
  groupPosition,
  ingestConfig,
  produce,
  quietLog,
  referenceOf,
  startIngester,
  startIngestRig,
  stockStream,
  topicOf,
  waitCaughtUp,
  waitFor,
} from './ingest-rig.js';

// Whatever a stop in the teardown waits on, the file ends; its results are already reported.
// The crash test abandons a consumer behind cut links on purpose (as a crashed pod would be).
// kafkajs keeps retrying its operations for minutes on ref'd timers, which would hold this
// file open long after every assertion ran; production's ingest CLI exits after stop() the
// same way.
const { cluster, redis, admin, prod } = await startIngestRig(t, {
  before: () => setTimeout(() => process.exit(), TEARDOWN_GRACE_MS).unref(),
  after: () => setTimeout(() => process.exit(), ABANDONED_CLIENT_GRACE_MS).unref(),
});

/** Each scenario's own waits add up to under 3 minutes; a scenario stuck past this fails instead of holding the file. */
const SUBTEST_TIMEOUT_MS = 180_000;
/** The longest the file-level teardown may take before the file exits anyway. */
const TEARDOWN_GRACE_MS = 30_000;
/** How long the file may linger after its teardown for abandoned kafkajs clients. */
const ABANDONED_CLIENT_GRACE_MS = 2_000;
/** Longer than the 6 s session timeout the test ingesters use. */
const OUTAGE_MS = 8_000;

t.test(
  'when the brokers become unreachable the ingester stops committing, reports it, and catches up after they return',
  { timeout: SUBTEST_TIMEOUT_MS },
  async (t) => {
    const region = freshRegion('broker-loss');
    const topic = topicOf(region);
    const before = stockStream('BL', 24, 6);
    const during = stockStream('BL', 24, 6, 7);
    // The ingester reaches the brokers only through cuttable proxies; the test produces directly.
    const link = await createBrokerLink(cluster);
    t.teardown(() => link.stop());
    const config = ingestConfig(region, link.brokers, redis.url);
    await produce(prod, topic, before);
    const ing = await startIngester(config, link.socketFactory);
    t.teardown(() => ing.stop());
    await waitCaughtUp(admin, config.groupId, topic, before.length);
    // Cut every broker connection, then keep producing.
    link.cut();
    await produce(prod, topic, during);
    await waitFor(() => !ing.health().healthy, 20_000, 'the ingester to report the brokers unreachable');
    const down = ing.health().problems.map((p) => p.component);
    t.ok(
      down.includes('consumer') || down.includes('broker') || down.includes('commit'),
      `reported: ${down}`,
    );
    const stuck = await groupPosition(admin, config.groupId, topic);
    t.equal(stuck.committed, before.length, 'nothing past the outage is committed');
    t.equal(stuck.lag, during.length);
    // Restore the network: the consumer rejoins, applies the rest, commits it.
    link.restore();
    await waitCaughtUp(admin, config.groupId, topic, before.length + during.length, 90_000);
    await waitFor(() => ing.health().healthy, 30_000, 'health to recover');
    t.same((await diffWithRedis(redis.url, region, referenceOf([...before, ...during]))).mismatches, []);
  },
);

t.test(
  'when Redis goes away the ingester keeps its partitions, commits nothing, and loses nothing when Redis returns',
  { timeout: SUBTEST_TIMEOUT_MS },
  async (t) => {
    const region = freshRegion('redis-loss');
    const topic = topicOf(region);
    const before = stockStream('RL', 24, 6);
    const during = stockStream('RL', 24, 6, 7);
    // Redis is reached through a proxy the test can cut; its data survives (a network loss, not a wipe).
    const proxy = await TcpProxy.start('127.0.0.1', redis.port);
    t.teardown(() => proxy.stop());
    const config = ingestConfig(region, cluster.brokers, proxy.url);
    await produce(prod, topic, before);
    const ing = await startIngester(config);
    t.teardown(() => ing.stop());
    await waitCaughtUp(admin, config.groupId, topic, before.length);
    // Cut Redis, produce more, and wait longer than the session timeout.
    proxy.cut();
    await produce(prod, topic, during);
    await waitFor(
      () => ing.health().problems.some((p) => p.component === 'store'),
      20_000,
      'the ingester to report the store down',
    );
    t.equal(
      ing.health().problems.find((p) => p.component === 'store')?.code,
      'ATP_ERR_INGEST_STORE_UNAVAILABLE',
    );
    await sleep(OUTAGE_MS);
    const stuck = await groupPosition(admin, config.groupId, topic);
    t.equal(stuck.committed, before.length, 'no offset past the outage was committed');
    // Heartbeats sent while retrying kept the membership: no rebalance, same partitions.
    t.equal(await metricValue(ing.metrics.registry, 'atp_ingest_rebalances_total'), 0);
    t.same(ing.health().assignedPartitions, [0, 1, 2, 3]);
    t.ok(
      (await metricValue(ing.metrics.registry, 'atp_ingest_batch_retries_total')) > 0,
      'the batch was retried',
    );
    // Redis returns: the same batches are applied, then committed.
    proxy.restore();
    await waitCaughtUp(admin, config.groupId, topic, before.length + during.length, 60_000);
    await waitFor(() => ing.health().healthy, 20_000, 'health to recover');
    t.same((await diffWithRedis(redis.url, region, referenceOf([...before, ...during]))).mismatches, []);
  },
);

t.test(
  'a batch applied but never committed before a crash is applied again by the next owner, without double effect',
  { timeout: SUBTEST_TIMEOUT_MS },
  async (t) => {
    const region = freshRegion('uncommitted');
    const topic = topicOf(region);
    const events = stockStream('UC', 30, 10);
    const half = events.length / 2;
    await produce(prod, topic, events.slice(0, half));
    // The first ingester reaches the brokers through a link that is cut the moment Redis
    // acknowledges its first write: the write is in Redis, its commit can never happen.
    const link = await createBrokerLink(cluster);
    t.teardown(() => link.stop());
    const client = await createRedisClient(redis.url, 'write');
    t.teardown(() => client.disconnect());
    const real = new RedisFeatureStore(client, region);
    let appliedBeforeCrash = 0;
    const crashing = {
      applyEvents: async (evs: readonly InventoryEvent[]) => {
        const report = await real.applyEvents(evs);
        // Other partitions' writes in flight at that moment land too; none of them can be committed.
        appliedBeforeCrash += report.applied;
        link.cut();
        return report;
      },
      flushGaps: (skus: readonly string[], wm: number) => real.flushGaps(skus, wm),
    };
    const config = ingestConfig(region, link.brokers, redis.url, { clientId: `${region}-zombie` });
    const zombie = createIngester(config, {
      socketFactory: link.socketFactory,
      logger: quietLog,
      parts: { store: crashing },
    });
    await zombie.start();
    // Stopped on every path: a zombie left running keeps reconnecting and the file never ends.
    t.teardown(() => zombie.stop());
    await waitFor(
      () => appliedBeforeCrash > 0 && !zombie.health().healthy,
      30_000,
      'the first write and the crash',
    );
    // A healthy successor joins the same group directly; once the zombie's session expires it owns everything.
    const successor = await startIngester({
      ...config,
      brokers: cluster.brokers,
      clientId: `${region}-successor`,
    });
    t.teardown(() => successor.stop());
    await produce(prod, topic, events.slice(half));
    await waitCaughtUp(admin, config.groupId, topic, events.length, 60_000);
    t.same((await diffWithRedis(redis.url, region, referenceOf(events))).mismatches, []);
    // The successor saw the uncommitted write again and recognised every event of it.
    const duplicates = await metricValue(successor.metrics.registry, 'atp_ingest_events_total', {
      result: 'duplicate',
    });
    t.ok(
      duplicates >= appliedBeforeCrash,
      `re-delivered ${duplicates} >= ${appliedBeforeCrash} applied before the crash`,
    );
    const applied = await metricValue(successor.metrics.registry, 'atp_ingest_events_total', {
      result: 'applied',
    });
    t.equal(applied + appliedBeforeCrash, events.length, 'between them, every event applied exactly once');
    link.restore();
  },
);
