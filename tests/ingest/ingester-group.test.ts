import t from 'tap';
import { metricValue } from '../../ingest/src/ingest-metrics.js';
import { scrapeMetric, spawnIngestCli } from './ingest-process.js';
import {
  diffWithRedis,
  feed,
  freshRegion,
  ingestConfig,
  referenceOf,
  startIngester,
  startIngestRig,
  stockStream,
  topicOf,
  waitCaughtUp,
  waitFor,
} from './ingest-rig.js';

const { cluster, redis, admin, prod } = await startIngestRig(t);

t.test('an ingester killed mid-stream and restarted loses nothing and applies nothing twice', async (t) => {
  const region = freshRegion('restart');
  const topic = topicOf(region);
  const events = stockStream('RS', 60, 40);
  // A live stream of 2400 events over about six seconds, and a first ingester process consuming it.
  const first = await spawnIngestCli({ brokers: cluster.brokers, redisUrl: redis.url, region });
  t.teardown(() => first.kill());
  const feeding = feed(prod, topic, events, 30, 6_000);
  await waitFor(
    async () =>
      (await scrapeMetric(first.metricsPort, 'atp_ingest_events_total', { result: 'applied' })) >= 600,
    30_000,
    'the first ingester to apply part of the stream',
  );
  // SIGKILL: no graceful leave, no last commit; whatever was applied but not committed comes again.
  await first.kill();
  const second = await spawnIngestCli({ brokers: cluster.brokers, redisUrl: redis.url, region });
  t.teardown(() => second.kill());
  await feeding;
  await waitCaughtUp(admin, `atp-ingest-${region}`, topic, events.length, 60_000);
  // Slot by slot equal to one in-order application: the `applied` slot counts every sequence applied.
  const diff = await diffWithRedis(redis.url, region, referenceOf(events));
  t.equal(diff.pairs, 60);
  t.same(diff.mismatches, []);
  const redelivered = await scrapeMetric(second.metricsPort, 'atp_ingest_events_total', {
    result: 'duplicate',
  });
  t.comment(`re-delivered after the kill and dropped as duplicates: ${redelivered}`);
  // The survivor stops cleanly on SIGTERM.
  second.proc.kill('SIGTERM');
  t.equal(await second.exited, 0);
});

t.test(
  'a second ingester joining mid-stream takes over partitions, and together they apply every event once',
  async (t) => {
    const region = freshRegion('rebalance');
    const topic = topicOf(region);
    const events = stockStream('RB', 60, 40);
    const config = ingestConfig(region, cluster.brokers, redis.url, { clientId: `${region}-a` });
    // One ingester owns all four partitions while the stream flows.
    const a = await startIngester(config);
    t.teardown(() => a.stop());
    const feeding = feed(prod, topic, events, 40, 8_000);
    await waitFor(
      async () =>
        (await metricValue(a.metrics.registry, 'atp_ingest_events_total', { result: 'applied' })) >= 300,
      30_000,
      'the first ingester to apply part of the stream',
    );
    // A second member joins the group: the partitions are split between them.
    const b = await startIngester({ ...config, clientId: `${region}-b` });
    t.teardown(() => b.stop());
    await waitFor(
      () =>
        a.health().assignedPartitions.length + b.health().assignedPartitions.length === 4 &&
        b.health().assignedPartitions.length > 0 &&
        a.health().assignedPartitions.length > 0,
      30_000,
      'the partitions to be split',
    );
    t.same(
      [...a.health().assignedPartitions, ...b.health().assignedPartitions].sort(),
      [0, 1, 2, 3],
      'each partition has exactly one owner',
    );
    await feeding;
    await waitCaughtUp(admin, config.groupId, topic, events.length, 60_000);
    t.same((await diffWithRedis(redis.url, region, referenceOf(events))).mismatches, []);
    const appliedA = await metricValue(a.metrics.registry, 'atp_ingest_events_total', { result: 'applied' });
    const appliedB = await metricValue(b.metrics.registry, 'atp_ingest_events_total', { result: 'applied' });
    t.ok(appliedB > 0, `the newcomer applied events (${appliedB})`);
    t.equal(appliedA + appliedB, events.length, 'together, every event applied exactly once');
  },
);
