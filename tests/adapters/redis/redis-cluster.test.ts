/**
 * The shared Redis adapters on a real local Redis Cluster (three primaries,
 * three replicas), chosen by a `redis+cluster://` URL: slots computed as
 * Redis computes them, batches split per node, a batch acknowledged only once
 * the replicas have it, and the feature store, stream health and the node
 * sets working as on one server.
 */
import { createRequire } from 'node:module';
import t from 'tap';
import {
  isCluster,
  keySlot,
  pipelineByNode,
  waitForReplicas,
} from '../../../adapters/src/redis/cluster-slots.js';
import { connectRedis, createRedisClient } from '../../../adapters/src/redis/redis-client.js';
import { RedisFeatureStore } from '../../../adapters/src/redis/redis-feature-store.js';
import { nodesKey, skuKey } from '../../../adapters/src/redis/redis-keys.js';
import { RedisNodeDirectory } from '../../../adapters/src/redis/redis-node-directory.js';
import {
  currentKey,
  publishBatchSet,
  publishDirectory,
  versionKey,
} from '../../../adapters/src/redis/redis-node-sets.js';
import {
  RedisIngestStateStore,
  RedisStreamHealthReader,
} from '../../../adapters/src/redis/redis-stream-health.js';
import { parseRedisUrl } from '../../../adapters/src/redis/redis-url.js';
import { partitionForKey } from '../../../proto/v1/partition-for-key.js';
import { ev } from '../../helpers/events.js';
import { startRedisCluster } from '../../helpers/redis-cluster.js';
import { TINY_NODES } from '../../helpers/tiny-world.js';

const cluster = await startRedisCluster();
t.teardown(() => cluster.stop());
const client = await connectRedis(cluster.url, 'write');
t.teardown(() => client.disconnect());

t.test('the URL scheme chooses one server or a cluster', async (t) => {
  t.ok(isCluster(client), 'redis+cluster:// gives a cluster client');
  t.match(parseRedisUrl('redis+cluster://u:p%40ss@h1:7000,h2:7001'), {
    kind: 'cluster',
    seeds: [
      { host: 'h1', port: 7000 },
      { host: 'h2', port: 7001 },
    ],
    username: 'u',
    password: 'p@ss',
    tls: false,
  });
  t.match(parseRedisUrl('rediss+cluster://h1'), { kind: 'cluster', tls: true, seeds: [{ port: 6379 }] });
  t.match(parseRedisUrl('redis://h:6380/2'), { kind: 'single' });
  t.throws(() => parseRedisUrl('redis+cluster://h1:7000/3'), { code: 'ATP_ERR_INVALID_ARGUMENT' });
  t.throws(() => parseRedisUrl('http://h1'), { code: 'ATP_ERR_INVALID_ARGUMENT' });
  await t.rejects(
    createRedisClient(cluster.url, 'write'),
    /connectRedis/,
    'the single-server factory refuses a cluster',
  );
});

t.test('slots are computed as Redis computes them, hash tags included', async (t) => {
  const keySlotOfIoredis = createRequire(import.meta.url)('cluster-key-slot') as (k: string) => number;
  const keys = [
    skuKey('eu-west', 'sku-00001'),
    skuKey('eu-west', 'ÄÖ-☃'),
    currentKey('eu-west', 'dir'),
    versionKey('eu-west', 'batch', 'batch-x'),
    nodesKey('eu-west'),
    'a{}b',
    '{}',
    'x{y}{z}',
    'plain',
  ];
  for (const k of keys) {
    t.equal(keySlot(k), await client.cluster('KEYSLOT', k), `${k}: Redis agrees`);
    t.equal(keySlot(k), keySlotOfIoredis(k), `${k}: ioredis agrees`);
  }
  t.equal(
    keySlot(currentKey('r', 'dir')),
    keySlot(versionKey('r', 'dir', 'batch-1')),
    'a set and its pointer share a slot',
  );
});

t.test(
  'per-key commands spanning every node go out as one pipeline per node, replies in order',
  async (t) => {
    const keys = Array.from({ length: 60 }, (_, i) => `pl:{k${i}}`);
    await pipelineByNode(client, keys, (p, i) => p.set(keys[i]!, String(i)));
    const { replies, groups } = await pipelineByNode(client, keys, (p, i) => p.get(keys[i]!));
    t.same(
      replies,
      keys.map((_, i) => String(i)),
    );
    t.equal(groups.length, 3, 'three node groups');
  },
);

t.test('a write is acknowledged only once the replica has it', async (t) => {
  const key = 'durable:{one}';
  const primary = await cluster.primaryOf(key);
  const [replica] = await cluster.replicasOf(primary);
  t.ok(replica, `primary ${primary} has a replica`);
  const { groups } = await pipelineByNode(client, [key], (p) => p.set(key, 'v1'));
  await waitForReplicas(client, groups, 1_000);
  // A replica that stops answering (without closing its link): the primary's WAIT cannot be met.
  cluster.pause(replica!);
  try {
    const second = await pipelineByNode(client, [key], (p) => p.set(key, 'v2'));
    await t.rejects(waitForReplicas(client, second.groups, 300), { code: 'ATP_ERR_REDIS_NOT_REPLICATED' });
  } finally {
    cluster.resume(replica!);
  }
  await cluster.waitHealthy();
  const third = await pipelineByNode(client, [key], (p) => p.set(key, 'v3'));
  await waitForReplicas(client, third.groups, 2_000);
});

t.test('the feature store, stream health and node sets work on the cluster', async (t) => {
  const region = 'eu-west';
  const store = new RedisFeatureStore(client, region);
  const events = TINY_NODES.flatMap((n, i) =>
    Array.from({ length: 20 }, (_, k) => ev('receipt', 5 + i, 1, { sku: `C-${k}`, node: n.nodeId })),
  );
  const report = await store.applyEvents([
    ...events,
    ...TINY_NODES.map((n) => ev('heartbeat', 0, 1, { node: n.nodeId })),
  ]);
  t.equal(report.applied, events.length);
  await store.refreshNodes();
  const view = await store.readSku('C-3');
  t.same(view.nodeIds, ['SL-1', 'ST-1', 'WH-1']);

  const state = new RedisIngestStateStore(client, region);
  const now = Date.now();
  await state.writeLag({ topic: 't', partitionCount: 4, updatedAtMs: now }, [
    {
      partition: partitionForKey('C-3', 4),
      offsetLag: 7,
      lagMs: 1_500,
      eventAgeMs: 10,
      committedOffset: '3',
      highWatermark: '10',
      updatedAtMs: now,
      owner: 'x',
    },
  ]);
  const health = new RedisStreamHealthReader(client, region);
  await health.refresh();
  t.equal(health.lagMsFor('C-3', now), 1_500);

  await publishDirectory(client, region, 'batch-dir-cluster', TINY_NODES, now);
  await publishBatchSet(client, {
    version: 'batch-cluster-1',
    region,
    computedAtMs: now,
    windowStartMs: now - 1,
    windowEndMs: now,
    nodes: new Map([
      ['WH-1', { lossShare: 0, scanAccuracy: 1, cancelRate: 0.3, feedDelayP50S: 1, handlingAdherence: 1 }],
    ]),
  });
  const dir = new RedisNodeDirectory(client, region);
  await dir.start(60_000);
  t.teardown(() => dir.stop());
  t.equal(dir.directoryVersion, 'batch-dir-cluster');
  t.same(dir.batchInfo(), { version: 'batch-cluster-1', computedAtMs: now });
  t.equal(dir.batch('WH-1').cancelRate, 0.3);
});
