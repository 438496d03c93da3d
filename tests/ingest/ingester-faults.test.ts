import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { metricValue } from '../../ingest/src/ingest-metrics.js';
import { createBrokerLink, TcpProxy } from '../helpers/kafka-mock-cluster.js';
import { scrapeMetric, spawnIngestCli } from './ingest-process.js';
import {
  diffWithRedis,
  freshRegion,
  groupPosition,
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

/** Each scenario's own waits add up to under 3 minutes; a scenario stuck past this fails instead of holding the file. */
const SUBTEST_TIMEOUT_MS = 180_000;
/**
 * The crashing ingester coalesces its commits over this long (the CLI's
 * maximum): once a partition committed, what it applies next stays
 * uncommitted until well after the crash.
 */
const CRASHING_COMMIT_INTERVAL_MS = 60_000;
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
    const groupId = `atp-ingest-${region}`;
    const events = stockStream('UC', 30, 10);
    const quarter = events.length / 4;
    const half = events.length / 2;
    // The first owner is the ingest CLI in a process of its own, as in a pod, committing at most
    // once a minute per partition: its first batch of each partition commits at once, the next wait.
    const first = await spawnIngestCli({
      brokers: cluster.brokers,
      redisUrl: redis.url,
      region,
      extra: ['--client-id', `${region}-first`, '--commit-interval-ms', String(CRASHING_COMMIT_INTERVAL_MS)],
    });
    t.teardown(() => first.kill());
    const applied = () => scrapeMetric(first.metricsPort, 'atp_ingest_events_total', { result: 'applied' });
    await produce(prod, topic, events.slice(0, quarter));
    await waitFor(async () => (await applied()) === quarter, 30_000, 'the first quarter applied');
    await produce(prod, topic, events.slice(quarter, half));
    await waitFor(async () => (await applied()) === half, 30_000, 'the second quarter applied');
    // The crash: SIGKILL after Redis acknowledged the writes, before their commit was due.
    const appliedBeforeCrash = await applied();
    await first.kill();
    const uncommitted = appliedBeforeCrash - (await groupPosition(admin, groupId, topic)).committed;
    t.ok(uncommitted > 0, `${uncommitted} event(s) applied but never committed before the crash`);
    // A successor joins the same group; once the dead member's session expires it owns everything.
    const successor = await startIngester(
      ingestConfig(region, cluster.brokers, redis.url, { clientId: `${region}-successor` }),
    );
    t.teardown(() => successor.stop());
    await produce(prod, topic, events.slice(half));
    await waitCaughtUp(admin, groupId, topic, events.length, 60_000);
    t.same((await diffWithRedis(redis.url, region, referenceOf(events))).mismatches, []);
    // The successor got the uncommitted writes again and recognised every event of them.
    const duplicates = await metricValue(successor.metrics.registry, 'atp_ingest_events_total', {
      result: 'duplicate',
    });
    t.ok(
      duplicates >= uncommitted,
      `re-delivered ${duplicates} >= ${uncommitted} applied but not committed before the crash`,
    );
    const appliedAfter = await metricValue(successor.metrics.registry, 'atp_ingest_events_total', {
      result: 'applied',
    });
    t.equal(
      appliedAfter + appliedBeforeCrash,
      events.length,
      'between them, every event applied exactly once',
    );
  },
);
