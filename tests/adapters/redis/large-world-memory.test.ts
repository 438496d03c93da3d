/**
 * The large-world measurement (bench/large-world.bench.ts) in small: a
 * sampled world of 20K SKUs streamed through RedisFeatureStore into a real
 * Redis Cluster, then measured. The test checks the machinery, not the
 * machine: every sampled SKU holds exactly its candidate nodes, and the
 * bytes per record it computes lie between what a record must cost at
 * least (its packed value and node id) and a bound derived from it.
 */
import t from 'tap';
import { connectRedis } from '../../../adapters/src/redis/redis-client.js';
import { largeWorldSkus, TARGET_MEAN_CANDIDATES } from '../../../bench/lib/large-world.js';
import {
  BULK_LOAD_COMMAND_TIMEOUT_MS,
  loadWorld,
  missingRecords,
  type NodeAddress,
  payloadBytesPerRecord,
  sampleMemoryUsage,
} from '../../../bench/lib/large-world-load.js';
import { startRedisCluster } from '../../helpers/redis-cluster.js';

const SKUS = 20_000;
const SEED = 5;
/**
 * Redis's own structures (dict entries, object headers, allocator size
 * classes, the key per SKU shared by its few records) cost a few times the
 * payload, never an order of magnitude.
 */
const MAX_OVERHEAD_FACTOR = 8;

const cluster = await startRedisCluster();
const client = await connectRedis(cluster.url, 'write', { commandTimeout: BULK_LOAD_COMMAND_TIMEOUT_MS });
t.teardown(async () => {
  client.disconnect();
  await cluster.stop();
});
const nodes: NodeAddress[] = cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));

t.test('the sampled world is shaped like the seed: a handful of nodes per SKU, a long tail', async (t) => {
  const counts: number[] = [];
  const ranks = new Set<number>();
  let repeatedNodes = 0;
  for (const s of largeWorldSkus(SKUS, SEED)) {
    counts.push(s.nodes.length);
    ranks.add(s.rank);
    if (new Set(s.nodes).size !== s.nodes.length) repeatedNodes++;
  }
  t.equal(repeatedNodes, 0, 'no node twice for one SKU');
  counts.sort((a, b) => a - b);
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  t.equal(ranks.size, SKUS, 'every sampled SKU is a different catalogue SKU');
  t.ok(Math.abs(mean - TARGET_MEAN_CANDIDATES) < 0.5, `mean candidates ${mean.toFixed(2)}`);
  t.ok((counts[0] ?? 0) >= 1, 'every SKU has a candidate');
  t.ok((counts[counts.length - 1] ?? 0) > 5 * mean, `a long tail: max ${counts[counts.length - 1]}`);
});

t.test('loading through the feature store writes every record and measures bytes per record', async (t) => {
  const load = await loadWorld(client, nodes, {
    region: 'lwtest',
    skus: SKUS,
    seed: SEED,
    sampleSkus: 300,
  });
  t.equal(load.skus, SKUS);
  t.ok(load.records > SKUS, `${load.records} records`);
  t.same(
    await missingRecords(client, 'lwtest', load.sample),
    [],
    'every sampled SKU holds exactly its nodes',
  );
  const payload = payloadBytesPerRecord(load.sample);
  const bounds = `within [${payload.toFixed(0)}, ${(payload * MAX_OVERHEAD_FACTOR).toFixed(0)}]`;
  t.ok(
    load.bytesPerRecordPrimaries >= payload && load.bytesPerRecordPrimaries <= payload * MAX_OVERHEAD_FACTOR,
    `used_memory delta ${load.bytesPerRecordPrimaries.toFixed(0)} B/record ${bounds}`,
  );
  t.ok(
    load.bytesPerRecordWithReplicas > load.bytesPerRecordPrimaries,
    `the replicas hold a copy (${load.bytesPerRecordWithReplicas.toFixed(0)} B/record with them)`,
  );
  const usage = await sampleMemoryUsage(client, 'lwtest', load.sample);
  t.equal(usage.keys, load.sample.length, 'MEMORY USAGE answered for every sampled SKU');
  t.ok(
    usage.bytesPerRecordSampled >= payload && usage.bytesPerRecordSampled <= payload * MAX_OVERHEAD_FACTOR,
    `MEMORY USAGE ${usage.bytesPerRecordSampled.toFixed(0)} B/record ${bounds}`,
  );
  t.ok(load.recordsPerS > 0 && load.timeline.length > 0, `${load.recordsPerS.toFixed(0)} records/s`);
});
