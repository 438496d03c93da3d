/**
 * The sidecar's reader of the node directory and batch node features
 * (RedisNodeDirectory) against a private redis-server, fed through the batch
 * job's publisher (redis-node-sets.ts): it serves the versions the pointers
 * name and reports them with their computation times, reloads a set only
 * when its version changes, never serves a mix of two sets while a publish
 * runs, and refuses a corrupt set while the last good one keeps serving.
 */
import t from 'tap';
import { createRedisClient } from '../../../adapters/src/redis/redis-client.js';
import { RedisNodeDirectory } from '../../../adapters/src/redis/redis-node-directory.js';
import {
  currentKey,
  META_FIELD,
  PUBLISH_CHUNK_FIELDS,
  publishBatchSet,
  publishDirectory,
  versionKey,
} from '../../../adapters/src/redis/redis-node-sets.js';
import type { NodeBatchFeatures, NodeInfo } from '../../../features/src/node-profile.js';
import { encodeBatchFeatures, encodeNodeInfo } from '../../../proto/v1/node-directory.js';
import { startRedisServer } from '../../helpers/redis-server.js';
import { TINY_NODES } from '../../helpers/tiny-world.js';

const server = await startRedisServer();
t.teardown(() => server.stop());
const redis = await createRedisClient(server.url, 'write');
t.teardown(() => redis.disconnect());

const T_COMPUTED = Date.UTC(2025, 0, 6, 3, 0, 0);
let regionCounter = 0;
const freshRegion = () => `nd-${++regionCounter}`;

function nodesOf(region: string, handlingHours = 4, count = TINY_NODES.length): NodeInfo[] {
  return Array.from({ length: count }, (_, i) => {
    const base = TINY_NODES[i % TINY_NODES.length]!;
    return { ...base, nodeId: count === TINY_NODES.length ? base.nodeId : `N-${i}`, region, handlingHours };
  });
}

function batchOf(nodes: readonly NodeInfo[], cancelRate: number): Map<string, NodeBatchFeatures> {
  return new Map(
    nodes.map((n) => [
      n.nodeId,
      { lossShare: 0.01, scanAccuracy: 0.97, cancelRate, feedDelayP50S: 2, handlingAdherence: 0.9 },
    ]),
  );
}

async function started(region: string): Promise<RedisNodeDirectory> {
  const dir = new RedisNodeDirectory(redis, region);
  await dir.start(60_000);
  t.teardown(() => dir.stop());
  return dir;
}

t.test('serves the published versions and reports them with the time they were computed', async (t) => {
  const region = freshRegion();
  const nodes = nodesOf(region);
  const empty = await started(region);
  t.equal(empty.directoryVersion, 'none', 'nothing published: no directory version');
  t.equal(empty.batchInfo(), null, 'nothing published: defaults, no batch set');
  t.equal(empty.info('WH-1'), undefined);

  await publishDirectory(redis, region, 'batch-dir-1', nodes, T_COMPUTED - 60_000);
  await publishBatchSet(redis, {
    version: 'batch-20250106T030000Z-aa',
    region,
    computedAtMs: T_COMPUTED,
    windowStartMs: T_COMPUTED - 7 * 86_400_000,
    windowEndMs: T_COMPUTED,
    nodes: batchOf(nodes, 0.2),
  });
  await empty.refresh();
  t.equal(empty.directoryVersion, 'batch-dir-1');
  t.same(empty.directoryInfo(), { version: 'batch-dir-1', computedAtMs: T_COMPUTED - 60_000 });
  t.equal(empty.batchVersion, 'batch-20250106T030000Z-aa');
  t.same(empty.batchInfo(), { version: 'batch-20250106T030000Z-aa', computedAtMs: T_COMPUTED });
  t.equal(empty.info('ST-1')?.zone, 'Z1-1');
  t.equal(empty.batch('SL-1').cancelRate, 0.2);
  t.equal(empty.serviceable(region, 'Z1-1').size > 0, true, 'the zone index is built from the loaded set');
});

t.test('a set is read again only when the pointer names another version', async (t) => {
  const region = freshRegion();
  const nodes = nodesOf(region);
  await publishDirectory(redis, region, 'batch-dir-a', nodes, T_COMPUTED);
  // Counts the whole-set reads the directory makes through its client.
  let setReads = 0;
  const counting = new Proxy(redis, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (prop === 'hgetall') setReads++;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const dir = new RedisNodeDirectory(counting, region);
  await dir.start(60_000);
  t.teardown(() => dir.stop());
  t.equal(setReads, 1, 'the first refresh reads the directory set');
  await dir.refresh();
  await dir.refresh();
  t.equal(setReads, 1, 'unchanged pointers: nothing re-read');
  await publishDirectory(redis, region, 'batch-dir-b', nodesOf(region, 6), T_COMPUTED + 1);
  await dir.refresh();
  t.equal(setReads, 2, 'a new version: read once');
  t.equal(dir.info('WH-1')?.handlingHours, 6);
});

t.test('while publishes run, a reader sees the old set or the new one, never a mix', async (t) => {
  const region = freshRegion();
  // Three HSET chunks per publish, so a publish is seen half-written if anything can be.
  const count = PUBLISH_CHUNK_FIELDS * 2 + 500;
  await publishDirectory(redis, region, 'batch-gen-0', nodesOf(region, 0, count), T_COMPUTED);
  const dir = await started(region);
  const publisher = await createRedisClient(server.url, 'write');
  t.teardown(() => publisher.disconnect());
  const GENERATIONS = 6;
  let publishing = true;
  const publishes = (async () => {
    for (let g = 1; g <= GENERATIONS; g++) {
      await publishDirectory(publisher, region, `batch-gen-${g}`, nodesOf(region, g, count), T_COMPUTED + g);
    }
    publishing = false;
  })();
  const seen = new Set<string>();
  let checks = 0;
  while (publishing || checks === 0) {
    await dir.refresh();
    const version = dir.directoryVersion;
    const generation = Number(version.slice('batch-gen-'.length));
    const hours = new Set(dir.local.all().map((n) => n.handlingHours));
    t.same([...hours], [generation], `${version}: every entry comes from that one set`);
    t.equal(dir.local.size, count);
    seen.add(version);
    checks++;
  }
  await publishes;
  await dir.refresh();
  t.equal(dir.directoryVersion, `batch-gen-${GENERATIONS}`, 'ends on the last published set');
  t.comment(`${checks} refreshes during ${GENERATIONS} publishes saw ${seen.size} versions`);
});

t.test('a corrupt set is refused, counted and named; the last good set keeps serving', async (t) => {
  const region = freshRegion();
  const nodes = nodesOf(region);
  await publishDirectory(redis, region, 'batch-dir-good', nodes, T_COMPUTED);
  await publishBatchSet(redis, {
    version: 'batch-good',
    region,
    computedAtMs: T_COMPUTED,
    windowStartMs: T_COMPUTED - 1,
    windowEndMs: T_COMPUTED,
    nodes: batchOf(nodes, 0.1),
  });
  const dir = await started(region);

  // A directory set with one entry that breaks its contract (a zone that is not a grid cell).
  const bad = { ...nodes[1]!, zone: 'Paris' };
  const dirKey = versionKey(region, 'dir', 'batch-dir-bad');
  await redis.hset(
    dirKey,
    'WH-1',
    encodeNodeInfo(nodes[0]!),
    'ST-1',
    encodeNodeInfo(bad),
    META_FIELD,
    JSON.stringify({
      version: 'batch-dir-bad',
      region,
      computedAtMs: T_COMPUTED + 1,
      windowStartMs: T_COMPUTED + 1,
      windowEndMs: T_COMPUTED + 1,
      entries: 2,
    }),
  );
  await redis.set(currentKey(region, 'dir'), 'batch-dir-bad');
  // A batch set whose entry holds a share above 1.
  const batchKey = versionKey(region, 'batch', 'batch-bad');
  const broken = encodeBatchFeatures('SL-1', { ...batchOf(nodes, 0.1).get('SL-1')!, cancelRate: 3 });
  await redis.hset(
    batchKey,
    'SL-1',
    broken,
    META_FIELD,
    JSON.stringify({
      version: 'batch-bad',
      region,
      computedAtMs: T_COMPUTED + 2,
      windowStartMs: 0,
      windowEndMs: T_COMPUTED + 2,
      entries: 1,
    }),
  );
  await redis.set(currentKey(region, 'batch'), 'batch-bad');

  await dir.refresh();
  t.equal(dir.directoryVersion, 'batch-dir-good', 'the good directory keeps serving');
  t.equal(dir.info('ST-1')?.zone, 'Z1-1');
  t.equal(dir.batchVersion, 'batch-good', 'the good batch set keeps serving');
  t.equal(dir.batch('SL-1').cancelRate, 0.1);
  t.equal(dir.refusals, 2, 'both refusals counted');
  t.match(dir.lastRefusal, { kind: 'batch', version: 'batch-bad', field: 'batch:SL-1.cancel_rate' });

  // A refused version is not read again; the next good publish is served.
  await dir.refresh();
  t.equal(dir.refusals, 2, 'a refused version is refused once');
  await publishDirectory(redis, region, 'batch-dir-fixed', nodesOf(region, 9), T_COMPUTED + 3);
  await dir.refresh();
  t.equal(dir.directoryVersion, 'batch-dir-fixed');
  t.equal(dir.info('ST-1')?.handlingHours, 9);

  // A pointer to a set that was never completed (no meta): refused for now, read again later.
  await redis.hset(versionKey(region, 'dir', 'batch-dir-half'), 'WH-1', encodeNodeInfo(nodes[0]!));
  await redis.set(currentKey(region, 'dir'), 'batch-dir-half');
  await dir.refresh();
  t.equal(dir.directoryVersion, 'batch-dir-fixed', 'an incomplete set is never switched to');
  t.match(dir.lastRefusal, { kind: 'dir', version: 'batch-dir-half', field: '$' });
});

t.test('an entry of another region or under another node name is refused', async (t) => {
  const region = freshRegion();
  const nodes = nodesOf(region);
  await publishDirectory(redis, region, 'batch-dir-ok', nodes, T_COMPUTED);
  const dir = await started(region);
  const key = versionKey(region, 'dir', 'batch-dir-swapped');
  await redis.hset(
    key,
    'WH-1',
    encodeNodeInfo(nodes[1]!),
    META_FIELD,
    JSON.stringify({
      version: 'batch-dir-swapped',
      region,
      computedAtMs: 1,
      windowStartMs: 1,
      windowEndMs: 1,
      entries: 1,
    }),
  );
  await redis.set(currentKey(region, 'dir'), 'batch-dir-swapped');
  await dir.refresh();
  t.equal(dir.directoryVersion, 'batch-dir-ok');
  t.match(dir.lastRefusal, { field: 'dir:WH-1.node_id' });

  const foreign = versionKey(region, 'dir', 'batch-dir-foreign');
  await redis.hset(
    foreign,
    'WH-1',
    encodeNodeInfo({ ...nodes[0]!, region: 'elsewhere' }),
    META_FIELD,
    JSON.stringify({
      version: 'batch-dir-foreign',
      region,
      computedAtMs: 1,
      windowStartMs: 1,
      windowEndMs: 1,
      entries: 1,
    }),
  );
  await redis.set(currentKey(region, 'dir'), 'batch-dir-foreign');
  await dir.refresh();
  t.equal(dir.directoryVersion, 'batch-dir-ok');
  t.match(dir.lastRefusal, { field: 'dir:WH-1.region' });
});
