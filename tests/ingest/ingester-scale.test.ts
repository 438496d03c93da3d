/**
 * Many ingesters on a many-partition topic, as a region scales them: twelve
 * partitions, ingester processes (the CLI, as pods run it) scaled from one to
 * three while the stream flows, one of them crashed with SIGKILL under load,
 * then scaled down to one with a graceful stop. Whatever the group did, the
 * store ends equal to the reference view of the stream (every event applied
 * exactly once in effect), and every member exposes the group's total lag,
 * the autoscaling signal, which reads zero once the group has caught up.
 */
import t from 'tap';
import { startKafkaMockClusterWithTopics } from '../helpers/kafka-mock-cluster.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { type IngestProcess, scrapeMetric, spawnIngestCli } from './ingest-process.js';
import {
  adminOf,
  diffWithRedis,
  feed,
  freshRegion,
  groupPosition,
  producer,
  referenceOf,
  stockStream,
  topicOf,
  waitCaughtUp,
  waitFor,
} from './ingest-rig.js';

const PARTITIONS = 12;
/** Waits inside the scenario add up to well under this. */
const SCENARIO_TIMEOUT_MS = 240_000;

// kcat's mock auto-creates 4 partitions; this one drives the same mock through its C API (python3 ctypes)
// and throws, naming what is missing, when it cannot.
const mock = await startKafkaMockClusterWithTopics(3);
const redis = await startRedisServer();
const admin = await adminOf(mock.brokers);
const prod = await producer(mock.brokers);
t.teardown(async () => {
  await prod.stop();
  await admin.disconnect();
  await mock.stop();
  await redis.stop();
});

async function assigned(p: IngestProcess): Promise<number> {
  return scrapeMetric(p.metricsPort, 'atp_ingest_assigned_partitions');
}

/** Waits until the live members hold all partitions between them, each holding some. */
async function waitSpread(members: readonly IngestProcess[], what: string): Promise<number[]> {
  let counts: number[] = [];
  await waitFor(
    async () => {
      counts = await Promise.all(members.map(assigned));
      return counts.reduce((a, b) => a + b, 0) === PARTITIONS && counts.every((c) => c > 0);
    },
    60_000,
    what,
  );
  return counts;
}

t.test(
  'three ingesters on twelve partitions: scale up, a crash, scale down; the store equals the reference view',
  { timeout: SCENARIO_TIMEOUT_MS },
  async (t) => {
    const region = freshRegion('scale');
    const topic = topicOf(region);
    const group = `atp-ingest-${region}`;
    await mock.createTopic(topic, PARTITIONS);
    t.equal((await admin.fetchTopicOffsets(topic)).length, PARTITIONS, 'the topic has twelve partitions');

    const events = stockStream('SC', 120, 40);
    const spawn = async (name: string) => {
      const p = await spawnIngestCli({
        brokers: mock.brokers,
        redisUrl: redis.url,
        region,
        extra: ['--client-id', `${region}-${name}`],
      });
      t.teardown(() => p.kill());
      return p;
    };
    // One ingester, and a live stream of 4800 events over about 24 s.
    const a = await spawn('a');
    const feeding = feed(prod, topic, events, 60, 24_000);
    await waitFor(
      async () => (await scrapeMetric(a.metricsPort, 'atp_ingest_events_total', { result: 'applied' })) > 200,
      30_000,
      'the first ingester to apply part of the stream',
    );
    const lagSeen = await scrapeMetric(a.metricsPort, 'atp_ingest_group_lag_records', { group });
    t.comment(`group lag while one ingester works: ${lagSeen} records`);

    // Scale up: two more members join; the group spreads the partitions over three.
    const b = await spawn('b');
    const c = await spawn('c');
    const three = await waitSpread([a, b, c], 'the partitions to spread over three ingesters');
    t.comment(`partitions per ingester after scaling up: ${three.join(' / ')}`);

    // A crash under load: c is killed (no commit, no group leave); its partitions move on after
    // the session timeout, and what it applied but did not commit is re-delivered.
    await c.kill();
    const two = await waitSpread([a, b], 'the survivors to take over the crashed member’s partitions');
    t.comment(`after the crash: ${two.join(' / ')}`);

    // Scale down: b stops gracefully (commit, leave); a owns everything.
    b.proc.kill('SIGTERM');
    t.equal(await b.exited, 0, 'the scaled-down member stops cleanly');
    await waitSpread([a], 'the last member to own every partition');

    await feeding;
    await waitCaughtUp(admin, group, topic, events.length, 90_000);
    const pos = await groupPosition(admin, group, topic);
    t.equal(pos.lag, 0);
    const diff = await diffWithRedis(redis.url, region, referenceOf(events));
    t.equal(diff.pairs, 120);
    t.same(diff.mismatches, [], 'the store equals the reference view: every event applied once in effect');
    const duplicates = await scrapeMetric(a.metricsPort, 'atp_ingest_events_total', { result: 'duplicate' });
    t.comment(`re-delivered records dropped as duplicates by the survivor: ${duplicates}`);
    await waitFor(
      async () => (await scrapeMetric(a.metricsPort, 'atp_ingest_group_lag_records', { group })) === 0,
      10_000,
      'the group lag gauge to read zero',
    );
    a.proc.kill('SIGTERM');
    t.equal(await a.exited, 0);
  },
);
