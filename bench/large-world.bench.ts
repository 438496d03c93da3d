/**
 * A large sampled world in a real Redis Cluster (issue 18 item 3, issue 17
 * item 5's input): the numbers a capacity plan needs from the store side.
 *
 *   npm run bench:large-world -- [--skus N] [--tuned-skus N] [--ingest-events N] [--seed N]
 *
 * On a local Redis Cluster (tests/helpers/redis-cluster.ts: 3 primaries, 3
 * replicas), three phases:
 *
 * 1. load: SKUS sampled SKUs (default 1M) with their candidate nodes
 *    (bench/lib/large-world.ts: shaped like the seed's 120M SKUs / 210K
 *    nodes) streamed through RedisFeatureStore.applyEvents, the ingester's
 *    write path, 4 chunks of 2,000 events in flight, with every write
 *    confirmed by the replicas (WAIT), as the ingester does: records/s,
 *    records per CPU-second of the writing process, bytes per record
 *    (used_memory delta, primaries and replicas) and a MEMORY USAGE fit over
 *    a sample of SKUs; every sampled SKU is checked to hold exactly its nodes.
 * 2. tuned: the same for TUNED_SKUS more SKUs after `CONFIG SET
 *    hash-max-listpack-value` is raised above a record's size on every node,
 *    so SKU hashes stay listpacks instead of hash tables (a Redis setting
 *    the deployment can choose): bytes per record again.
 * 3. ingest: INGEST_EVENTS events of the world through librdkafka's mock
 *    Kafka and the `ingest` CLI into the cluster (the real ingest path),
 *    against raw pipelined HSET of the same events on the same cluster,
 *    interleaved, median of RUNS.
 *
 * Progress on stderr; writes bench/out/large-world.json and .html (plots:
 * records/s and memory over the load, candidates per SKU).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { KafkaEventProducer } from '../adapters/src/kafka/kafka-event-producer.js';
import { pipelineByNode, type RedisClient } from '../adapters/src/redis/cluster-slots.js';
import { connectRedis } from '../adapters/src/redis/redis-client.js';
import { skuKey } from '../adapters/src/redis/redis-keys.js';
import { RECORD_BYTES } from '../features/src/record-layout.js';
import { encodeEvent, type InventoryEvent } from '../proto/v1/inventory-event.js';
import { mutationsTopic } from '../proto/v1/topics.js';
import { startKafkaMockCluster } from '../tests/helpers/kafka-mock-cluster.js';
import { startRedisCluster } from '../tests/helpers/redis-cluster.js';
import {
  METRICS_SCRAPE_MS,
  median,
  produceAll,
  progressBar,
  sayer,
  scrape,
  spawnIngester,
  stopIngester,
  sumOf,
} from './lib/ingest-bench-kit.js';
import { CATALOGUE_NODES, CATALOGUE_SKUS, largeWorldChunks } from './lib/large-world.js';
import {
  BULK_LOAD_COMMAND_TIMEOUT_MS,
  type LoadResult,
  loadWorld,
  missingRecords,
  type NodeAddress,
  payloadBytesPerRecord,
  sampleMemoryUsage,
  type UsageFit,
} from './lib/large-world-load.js';
import { largeWorldHtml } from './lib/large-world-report.js';

const COMMAND = 'npm run bench:large-world';
const DEFAULT_SKUS = 1_000_000;
const DEFAULT_TUNED_SKUS = 100_000;
/** The kcat mock keeps about 5 MB per partition: 60K events of ~250 B stay inside. */
const DEFAULT_INGEST_EVENTS = 60_000;
const DEFAULT_RUNS = 3;
const DEFAULT_SEED = 17;
/** Events per pipeline of the raw HSET baseline (as in bench/ingest.bench.ts). */
const BASELINE_BATCH = 500;
/** Above a packed record (RECORD_BYTES) with room to spare: SKU hashes stay listpacks. */
const TUNED_LISTPACK_VALUE = 256;
/** The seed's event volume (DESIGN.md §1) and the peak factor the plan is sized for. */
const EVENTS_PER_DAY = 180_000_000;
const PEAK_FACTOR = 10;
const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'out');

const say = sayer('large-world');
const bar = progressBar('large-world');

interface IngestRun {
  baselineEventsPerS: number;
  ingesterEventsPerS: number;
  ingesterEventsPerCpuS: number;
  ratio: number;
}

async function onEveryNode(nodes: readonly NodeAddress[], ...args: string[]): Promise<void> {
  await Promise.all(
    nodes.map(async (n) => {
      const r = new Redis({ host: n.host, port: n.port, lazyConnect: true });
      try {
        await r.connect();
        await r.call(...(args as [string, ...string[]]));
      } finally {
        r.disconnect();
      }
    }),
  );
}

function worldEvents(n: number, seed: number): InventoryEvent[] {
  const out: InventoryEvent[] = [];
  for (const chunk of largeWorldChunks({ skus: n, seed, eventTimeMs: Date.now(), chunkEvents: n })) {
    out.push(...chunk.events.slice(0, n - out.length));
    if (out.length >= n) break;
  }
  return out;
}

async function rawHsetCluster(
  client: RedisClient,
  region: string,
  events: readonly InventoryEvent[],
): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += BASELINE_BATCH) {
    const part = events.slice(i, i + BASELINE_BATCH);
    const keys = part.map((e) => skuKey(region, e.sku));
    await pipelineByNode(client, keys, (p, j) => {
      const e = part[j] as InventoryEvent;
      p.hset(keys[j] as string, e.node, encodeEvent(e));
    });
  }
  return events.length / ((performance.now() - t0) / 1000);
}

async function ingestRun(
  client: RedisClient,
  clusterUrl: string,
  events: readonly InventoryEvent[],
  run: number,
): Promise<IngestRun> {
  const baselineEventsPerS = await rawHsetCluster(client, `lw-raw-${process.pid}-${run}`, events);
  const mock = await startKafkaMockCluster();
  const producer = new KafkaEventProducer({
    brokers: mock.brokers,
    clientId: 'lw-producer',
    logger: pino({ level: 'silent' }),
  });
  await producer.start();
  try {
    const region = `lw-ingest-${process.pid}-${run}`;
    await produceAll(producer, mutationsTopic(region), events);
    const ing = await spawnIngester(mock.brokers, clusterUrl, region);
    try {
      // Timed from a fifth of the events applied (compiled code, settled group) to the last one.
      const warm = Math.round(events.length / 5);
      let m = await scrape(ing.port);
      while (sumOf(m, 'atp_ingest_messages_total') < warm) {
        await new Promise((r) => setTimeout(r, METRICS_SCRAPE_MS));
        m = await scrape(ing.port);
      }
      const t0 = performance.now();
      const n0 = sumOf(m, 'atp_ingest_messages_total');
      const c0 = sumOf(m, 'atp_ingest_process_cpu_seconds_total');
      while (sumOf(m, 'atp_ingest_messages_total') < events.length) {
        await new Promise((r) => setTimeout(r, METRICS_SCRAPE_MS));
        m = await scrape(ing.port);
      }
      const seconds = (performance.now() - t0) / 1000;
      const n = sumOf(m, 'atp_ingest_messages_total') - n0;
      const cpu = sumOf(m, 'atp_ingest_process_cpu_seconds_total') - c0;
      return {
        baselineEventsPerS,
        ingesterEventsPerS: n / seconds,
        ingesterEventsPerCpuS: cpu > 0 ? n / cpu : 0,
        ratio: n / seconds / baselineEventsPerS,
      };
    } finally {
      await stopIngester(ing);
    }
  } finally {
    await producer.stop().catch(() => undefined);
    await mock.stop();
  }
}

export interface CapacityInputs {
  bytesPerRecordPrimaries: number;
  bytesPerRecordWithReplicas: number;
  bytesPerRecordTuned: number;
  recordsPerSku: number;
  recordsPerSPerWritingCore: number;
  ingesterEventsPerCpuS: number;
}

/** The projections of docs/capacity.md, from the measured inputs (formulas spelled in the report). */
function capacity(c: CapacityInputs) {
  const records = CATALOGUE_SKUS * c.recordsPerSku;
  const peakEventsPerS = (EVENTS_PER_DAY / 86_400) * PEAK_FACTOR;
  return {
    catalogueSkus: CATALOGUE_SKUS,
    catalogueNodes: CATALOGUE_NODES,
    records,
    primariesGiB: (records * c.bytesPerRecordPrimaries) / 2 ** 30,
    primariesAndReplicasGiB: (records * c.bytesPerRecordWithReplicas) / 2 ** 30,
    primariesGiBTuned: (records * c.bytesPerRecordTuned) / 2 ** 30,
    peakEventsPerS,
    ingesterCoresAtPeak: peakEventsPerS / c.ingesterEventsPerCpuS,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      skus: { type: 'string' },
      'tuned-skus': { type: 'string' },
      'ingest-events': { type: 'string' },
      runs: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  const skus = Number(values.skus ?? DEFAULT_SKUS);
  const tunedSkus = Number(values['tuned-skus'] ?? DEFAULT_TUNED_SKUS);
  const ingestEvents = Number(values['ingest-events'] ?? DEFAULT_INGEST_EVENTS);
  const runs = Number(values.runs ?? DEFAULT_RUNS);
  const seed = Number(values.seed ?? DEFAULT_SEED);
  say('starting a Redis Cluster (3 primaries, 3 replicas)');
  const cluster = await startRedisCluster();
  const client = await connectRedis(cluster.url, 'write', { commandTimeout: BULK_LOAD_COMMAND_TIMEOUT_MS });
  const nodes: NodeAddress[] = cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  try {
    say(`phase 1: ${skus.toLocaleString('en-US')} SKUs through RedisFeatureStore into the cluster`);
    const load = await loadWorld(client, nodes, {
      region: 'lw',
      skus,
      seed,
      onProgress: (done) => bar('load', done, skus),
    });
    const usage = await sampleMemoryUsage(client, 'lw', load.sample);
    const missing = await missingRecords(client, 'lw', load.sample);
    say(
      `${load.records} records, ${load.bytesPerRecordPrimaries.toFixed(0)} B/record; ${missing.length} sampled SKUs wrong`,
    );

    say(
      `phase 2: ${tunedSkus.toLocaleString('en-US')} SKUs with hash-max-listpack-value ${TUNED_LISTPACK_VALUE}`,
    );
    await onEveryNode(nodes, 'CONFIG', 'SET', 'hash-max-listpack-value', String(TUNED_LISTPACK_VALUE));
    const tuned = await loadWorld(client, nodes, {
      region: 'lwt',
      skus: tunedSkus,
      seed: seed + 1,
      onProgress: (done) => bar('load (tuned)', done, tunedSkus),
    });
    const tunedUsage = await sampleMemoryUsage(client, 'lwt', tuned.sample);
    const tunedMissing = await missingRecords(client, 'lwt', tuned.sample);
    await onEveryNode(nodes, 'CONFIG', 'SET', 'hash-max-listpack-value', '64');

    say(
      `phase 3: ${ingestEvents.toLocaleString('en-US')} events through Kafka and the ingest CLI, ${runs} runs`,
    );
    const events = worldEvents(ingestEvents, seed + 2);
    const ingest: IngestRun[] = [];
    for (let run = 1; run <= runs; run++) {
      ingest.push(await ingestRun(client, cluster.url, events, run));
      bar('ingest runs', run, runs);
    }
    const inputs: CapacityInputs = {
      bytesPerRecordPrimaries: load.bytesPerRecordPrimaries,
      bytesPerRecordWithReplicas: load.bytesPerRecordWithReplicas,
      bytesPerRecordTuned: tuned.bytesPerRecordPrimaries,
      recordsPerSku: load.recordsPerSku,
      recordsPerSPerWritingCore: load.recordsPerCpuS,
      ingesterEventsPerCpuS: median(ingest.map((r) => r.ingesterEventsPerCpuS)),
    };
    const strip = ({ sample, ...r }: LoadResult) => ({ ...r, sampledSkus: sample.length });
    const result = {
      command: COMMAND,
      date: new Date().toISOString(),
      node: process.version,
      cpus: availableParallelism(),
      loadAverage1m: loadavg()[0],
      recordBytes: RECORD_BYTES,
      payloadBytesPerRecord: payloadBytesPerRecord(load.sample),
      load: { ...strip(load), usage, missingSampled: missing.length },
      tuned: {
        listpackValue: TUNED_LISTPACK_VALUE,
        ...strip(tuned),
        usage: tunedUsage,
        missingSampled: tunedMissing.length,
      },
      ingest: {
        events: events.length,
        runs: ingest,
        median: {
          baselineEventsPerS: median(ingest.map((r) => r.baselineEventsPerS)),
          ingesterEventsPerS: median(ingest.map((r) => r.ingesterEventsPerS)),
          ingesterEventsPerCpuS: inputs.ingesterEventsPerCpuS,
          ratio: median(ingest.map((r) => r.ratio)),
        },
      },
      capacityInputs: inputs,
      capacity: capacity(inputs),
    };
    mkdirSync(OUT_DIR, { recursive: true });
    writeFileSync(join(OUT_DIR, 'large-world.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(OUT_DIR, 'large-world.html'), largeWorldHtml(result, load, tuned));
    const fmt = (v: number, d = 0) => v.toLocaleString('en-US', { maximumFractionDigits: d });
    const usageLine = (u: UsageFit) =>
      `MEMORY USAGE sample: ${fmt(u.bytesPerRecordSampled)} B/record; fit ${fmt(u.perSkuBytes)} B per SKU + ${fmt(u.perRecordBytes)} B per record; encodings ${JSON.stringify(u.encodings)}`;
    process.stdout.write(
      [
        `command: ${COMMAND} -- --skus ${skus} --tuned-skus ${tunedSkus} --ingest-events ${ingestEvents}`,
        `(1) load: ${fmt(load.skus)} SKUs, ${fmt(load.records)} records (${load.recordsPerSku.toFixed(2)} per SKU) in ${load.seconds.toFixed(1)} s`,
        `    ${fmt(load.recordsPerS)} records/s, ${fmt(load.recordsPerCpuS)} records per CPU-s of the writer (replica-confirmed)`,
        `    used_memory delta: ${fmt(load.bytesPerRecordPrimaries)} B/record on the primaries, ${fmt(load.bytesPerRecordWithReplicas)} B/record with the replicas (payload ${fmt(result.payloadBytesPerRecord)} B)`,
        `    ${usageLine(usage)}; sampled SKUs not holding exactly their nodes: ${missing.length}`,
        `(2) tuned (hash-max-listpack-value ${TUNED_LISTPACK_VALUE}): ${fmt(tuned.bytesPerRecordPrimaries)} B/record on the primaries; ${usageLine(tunedUsage)}`,
        `(3) ingest CLI into the cluster: ${fmt(result.ingest.median.ingesterEventsPerS)} events/s, ${fmt(inputs.ingesterEventsPerCpuS)} events/CPU-s; raw HSET ${fmt(result.ingest.median.baselineEventsPerS)} events/s; ratio ${result.ingest.median.ratio.toFixed(2)} (median of ${runs})`,
        `capacity (120M SKUs x ${load.recordsPerSku.toFixed(2)} records = ${fmt(result.capacity.records / 1e6)}M records): ${fmt(result.capacity.primariesGiB)} GiB primaries, ${fmt(result.capacity.primariesAndReplicasGiB)} GiB with one replica each, ${fmt(result.capacity.primariesGiBTuned)} GiB primaries tuned; ${fmt(result.capacity.peakEventsPerS)} events/s at peak = ${result.capacity.ingesterCoresAtPeak.toFixed(1)} ingester cores`,
        `machine: ${availableParallelism()} CPUs, load average ${(loadavg()[0] ?? 0).toFixed(1)} at the end`,
        'wrote bench/out/large-world.json and bench/out/large-world.html',
        '',
      ].join('\n'),
    );
  } finally {
    client.disconnect();
    await cluster.stop();
  }
}

await main();
