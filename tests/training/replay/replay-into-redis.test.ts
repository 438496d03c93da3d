import { spawn } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import t from 'tap';
import { createRedisClient } from '../../../adapters/src/redis/redis-client.js';
import { RedisFeatureStore } from '../../../adapters/src/redis/redis-feature-store.js';
import { PENDING_SUFFIX } from '../../../adapters/src/redis/redis-keys.js';
import { R } from '../../../features/src/record-layout.js';
import { validateIngestConfig } from '../../../ingest/src/ingest-config.js';
import { metricValue } from '../../../ingest/src/ingest-metrics.js';
import { startIngestService } from '../../../ingest/src/main.js';
import { createSimulator } from '../../../training/src/simulator/simulator.js';
import { startKafkaMockCluster } from '../../helpers/kafka-mock-cluster.js';
import { startRedisServer } from '../../helpers/redis-server.js';
import { quietLog, waitCaughtUp } from '../../ingest/ingest-rig.js';

const cluster = await startKafkaMockCluster();
const redis = await startRedisServer();
t.teardown(async () => {
  await cluster.stop();
  await redis.stop();
});

const REPLAY_CLI = new URL('../../../training/src/replay/replay-cli.ts', import.meta.url).pathname;
/** A world small enough for a test (about 40K messages after duplication), big enough for real order lifecycles. */
const WORLD = { seed: 11, events: 20_000, skus: 400 };

t.test(
  'a simulated world replayed into Kafka, every event twice and partly out of order, leaves Redis equal to the system view',
  async (t) => {
    const region = 'accept';
    // Replay the world through the CLI: duplicated, 30% of events held back up to 5 s of delivery time.
    const replay = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        REPLAY_CLI,
        '--to',
        'kafka',
        '--brokers',
        cluster.brokers.join(','),
        '--region',
        region,
        '--seed',
        String(WORLD.seed),
        '--events',
        String(WORLD.events),
        '--skus',
        String(WORLD.skus),
        '--duplicate',
        '--shuffle-ms',
        '5000',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    replay.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    replay.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => replay.once('exit', resolve));
    t.equal(code, 0, stderr);
    const summary = JSON.parse(stdout) as { events: number; topic: string };
    t.equal(summary.events, 2 * WORLD.events);
    t.match(stderr, /100\.0%/, 'the replay drew its progress bar');
    // One ingester consumes the topic from the beginning into Redis.
    const config = validateIngestConfig({
      region,
      brokers: cluster.brokers,
      redisUrl: redis.url,
      metricsPort: null,
      logLevel: 'silent',
    });
    const ingester = await startIngestService(config, { logger: quietLog });
    t.teardown(() => ingester.stop());
    const admin = new Kafka({
      clientId: 'accept-admin',
      brokers: cluster.brokers,
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    t.teardown(() => admin.disconnect());
    await waitCaughtUp(admin, config.groupId, summary.topic, summary.events, 90_000);
    // The same seed gives the same world: its system view is what Redis must hold.
    const sim = createSimulator({ seed: WORLD.seed, maxEvents: WORLD.events, skuCount: WORLD.skus });
    for (const _ of sim.run()) {
      // run the world to its end
    }
    const view = sim.systemView();
    const client = await createRedisClient(redis.url, 'write');
    t.teardown(() => client.disconnect());
    const store = new RedisFeatureStore(client, region);
    const mismatches: string[] = [];
    for (const [key, want] of view) {
      const pair = await store.readPair(want.sku, want.node);
      const got = {
        onHand: pair.rec[R.onHand],
        reserved: pair.rec[R.reserved],
        lastSequence: pair.rec[R.nextSeq]! - 1,
      };
      if (
        got.onHand !== want.onHand ||
        got.reserved !== want.reserved ||
        got.lastSequence !== want.lastSequence ||
        pair.pending !== null
      ) {
        mismatches.push(
          `${key}: redis ${JSON.stringify(got)} held=${pair.pending?.length ?? 0}, view ${JSON.stringify(want)}`,
        );
      }
    }
    t.same(mismatches.slice(0, 5), [], `${mismatches.length} of ${view.size} pairs differ`);
    // And Redis holds no pair the world never had.
    let pairsInRedis = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `atp:${region}:{*}:s`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        for (const field of await client.hkeys(k)) if (!field.endsWith(PENDING_SUFFIX)) pairsInRedis++;
      }
    } while (cursor !== '0');
    t.equal(pairsInRedis, view.size);
    // Every duplicate was recognised, no gap was given up on.
    const reg = ingester.metrics.registry;
    t.ok((await metricValue(reg, 'atp_ingest_events_total', { result: 'duplicate' })) >= WORLD.events * 0.6);
    t.equal(await metricValue(reg, 'atp_ingest_gaps_skipped_total'), 0);
    t.equal(await metricValue(reg, 'atp_ingest_dead_letters_total'), 0);
  },
);
