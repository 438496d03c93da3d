/**
 * Loads a large sampled world (large-world.ts) into the regional feature
 * store through RedisFeatureStore.applyEvents, the ingester's write path,
 * and measures what a capacity plan needs: records written per second and
 * per CPU-second of the writing process, and Redis memory per (sku,node)
 * record, two ways:
 *
 * - used_memory delta: the sum of `INFO memory` used_memory over the nodes
 *   (primaries, and separately replicas) after minus before, over the
 *   records written: everything a record costs (key, hash, entries,
 *   allocator rounding, the cluster's slot-to-key index);
 * - MEMORY USAGE of a sample of SKU hashes, fitted as a + b * fields by
 *   least squares: b is the cost of one more record in a hash, a the fixed
 *   cost of a SKU's hash (key name, dict, object headers).
 *
 * Memory stays bounded: the world is streamed in chunks, and only a
 * reservoir of sampled SKUs (to check and to MEMORY USAGE) is kept.
 */
import { Redis } from 'ioredis';
import type { RedisClient } from '../../adapters/src/redis/cluster-slots.js';
import { RedisFeatureStore } from '../../adapters/src/redis/redis-feature-store.js';
import { skuKey } from '../../adapters/src/redis/redis-keys.js';
import { RECORD_BYTES } from '../../features/src/record-layout.js';
import { largeWorldChunks, type WorldSkuSample } from './large-world.js';

/** applyEvents calls in flight, as an ingester with this many partitions processed at once. */
export const DEFAULT_LOAD_CONCURRENCY = 4;
/** Events per applyEvents call (the ingester's --max-apply-chunk default). */
export const DEFAULT_CHUNK_EVENTS = 2_000;
/** SKUs kept to verify and to sample MEMORY USAGE of. */
export const DEFAULT_SAMPLE_SKUS = 2_000;
/**
 * Command timeout of the bulk loader's client (connectRedis overrides). The
 * ingester's write profile gives a command 2 s; a bulk load with replica
 * confirmation on a machine shared with other work can take longer per
 * pipeline without anything being wrong, and a load is not the checkout path.
 */
export const BULK_LOAD_COMMAND_TIMEOUT_MS = 30_000;
/** A point of the load timeline at most this often. */
const TIMELINE_EVERY_MS = 1_000;

export interface NodeAddress {
  host: string;
  port: number;
}

export interface MemoryReading {
  primariesBytes: number;
  replicasBytes: number;
}

export interface LoadPoint {
  seconds: number;
  records: number;
  recordsPerS: number;
  primariesBytes: number;
}

export interface LoadResult {
  region: string;
  skus: number;
  records: number;
  seconds: number;
  cpuSeconds: number;
  recordsPerS: number;
  recordsPerCpuS: number;
  /** Records per SKU: mean and a histogram (candidates -> SKUs). */
  recordsPerSku: number;
  candidatesHistogram: Record<number, number>;
  before: MemoryReading;
  after: MemoryReading;
  /** used_memory delta over the records written. */
  bytesPerRecordPrimaries: number;
  bytesPerRecordWithReplicas: number;
  timeline: LoadPoint[];
  sample: WorldSkuSample[];
}

export interface LoadOptions {
  region: string;
  skus: number;
  seed: number;
  concurrency?: number;
  chunkEvents?: number;
  sampleSkus?: number;
  /** Called after every chunk acknowledged. */
  onProgress?: (skusDone: number, records: number) => void;
}

function cpuNowS(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Sum of used_memory over the primaries and over the replicas, each asked directly. */
export async function readMemory(nodes: readonly NodeAddress[]): Promise<MemoryReading> {
  let primariesBytes = 0;
  let replicasBytes = 0;
  await Promise.all(
    nodes.map(async (n) => {
      const r = new Redis({ host: n.host, port: n.port, lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await r.connect();
        const info = await r.info();
        const used = Number(/\r?\nused_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
        if (/\r?\nrole:slave/.test(info)) replicasBytes += used;
        else primariesBytes += used;
      } finally {
        r.disconnect();
      }
    }),
  );
  return { primariesBytes, replicasBytes };
}

/** Streams the world into `client` through RedisFeatureStore and measures it. */
export async function loadWorld(
  client: RedisClient,
  nodes: readonly NodeAddress[],
  o: LoadOptions,
): Promise<LoadResult> {
  const store = new RedisFeatureStore(client, o.region);
  const concurrency = o.concurrency ?? DEFAULT_LOAD_CONCURRENCY;
  const sampleSize = o.sampleSkus ?? DEFAULT_SAMPLE_SKUS;
  const sample: WorldSkuSample[] = [];
  const histogram: Record<number, number> = {};
  // Deterministic reservoir (Algorithm R with a fixed LCG) so reruns sample the same SKUs.
  let lcg = o.seed >>> 0 || 1;
  const rand = () => {
    lcg = (Math.imul(lcg, 1664525) + 1013904223) >>> 0;
    return lcg / 4294967296;
  };
  const before = await readMemory(nodes);
  const t0 = performance.now();
  const c0 = cpuNowS();
  let skusDone = 0;
  let records = 0;
  let seen = 0;
  const timeline: LoadPoint[] = [];
  let lastPointMs = 0;
  let lastPointRecords = 0;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;
  for (const chunk of largeWorldChunks({
    skus: o.skus,
    seed: o.seed,
    eventTimeMs: Date.now(),
    chunkEvents: o.chunkEvents ?? DEFAULT_CHUNK_EVENTS,
  })) {
    for (const s of chunk.skus) {
      histogram[s.nodes.length] = (histogram[s.nodes.length] ?? 0) + 1;
      seen++;
      if (sample.length < sampleSize) sample.push(s);
      else {
        const j = Math.floor(rand() * seen);
        if (j < sampleSize) sample[j] = s;
      }
    }
    const done: Promise<void> = store.applyEvents(chunk.events).then(
      (report) => {
        inFlight.delete(done);
        records += report.applied;
        skusDone += chunk.skus.length;
        o.onProgress?.(skusDone, records);
      },
      (err: unknown) => {
        inFlight.delete(done);
        failure ??= err;
      },
    );
    inFlight.add(done);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (failure !== null) break;
    const now = performance.now();
    if (now - lastPointMs >= TIMELINE_EVERY_MS) {
      const mem = await readMemory(nodes);
      timeline.push({
        seconds: (now - t0) / 1000,
        records,
        recordsPerS: lastPointMs === 0 ? 0 : ((records - lastPointRecords) * 1000) / (now - lastPointMs),
        primariesBytes: mem.primariesBytes - before.primariesBytes,
      });
      lastPointMs = now;
      lastPointRecords = records;
    }
  }
  await Promise.all(inFlight);
  if (failure !== null) throw failure;
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = cpuNowS() - c0;
  const after = await readMemory(nodes);
  timeline.push({
    seconds,
    records,
    recordsPerS: (records - lastPointRecords) / Math.max(1e-9, seconds - lastPointMs / 1000),
    primariesBytes: after.primariesBytes - before.primariesBytes,
  });
  return {
    region: o.region,
    skus: skusDone,
    records,
    seconds,
    cpuSeconds,
    recordsPerS: records / seconds,
    recordsPerCpuS: cpuSeconds > 0 ? records / cpuSeconds : 0,
    recordsPerSku: records / Math.max(1, skusDone),
    candidatesHistogram: histogram,
    before,
    after,
    bytesPerRecordPrimaries: (after.primariesBytes - before.primariesBytes) / records,
    bytesPerRecordWithReplicas:
      (after.primariesBytes + after.replicasBytes - before.primariesBytes - before.replicasBytes) / records,
    timeline,
    sample,
  };
}

export interface UsageFit {
  keys: number;
  fields: number;
  /** Total MEMORY USAGE over the sampled fields. */
  bytesPerRecordSampled: number;
  /** Least-squares fit usage = perSkuBytes + perRecordBytes * fields. */
  perSkuBytes: number;
  perRecordBytes: number;
  /** Encodings seen (listpack, hashtable) and how many keys had each. */
  encodings: Record<string, number>;
}

/** MEMORY USAGE (exact: SAMPLES 0) and OBJECT ENCODING of the sampled SKUs' hashes. */
export async function sampleMemoryUsage(
  client: RedisClient,
  region: string,
  sample: readonly WorldSkuSample[],
): Promise<UsageFit> {
  const xs: number[] = [];
  const ys: number[] = [];
  const encodings: Record<string, number> = {};
  for (const s of sample) {
    const key = skuKey(region, s.sku);
    const [usage, fields, encoding] = await Promise.all([
      client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') as Promise<number | null>,
      client.hlen(key),
      client.call('OBJECT', 'ENCODING', key) as Promise<string | null>,
    ]);
    if (usage === null) continue;
    xs.push(fields);
    ys.push(usage);
    const enc = encoding ?? 'none';
    encodings[enc] = (encodings[enc] ?? 0) + 1;
  }
  const n = xs.length;
  const sx = xs.reduce((a, b) => a + b, 0);
  const sy = ys.reduce((a, b) => a + b, 0);
  const sxx = xs.reduce((a, x) => a + x * x, 0);
  const sxy = xs.reduce((a, x, i) => a + x * (ys[i] ?? 0), 0);
  const denom = n * sxx - sx * sx;
  const slope = denom === 0 ? Number.NaN : (n * sxy - sx * sy) / denom;
  return {
    keys: n,
    fields: sx,
    bytesPerRecordSampled: sy / Math.max(1, sx),
    perSkuBytes: (sy - slope * sx) / Math.max(1, n),
    perRecordBytes: slope,
    encodings,
  };
}

/** Sampled SKUs whose hash does not hold exactly their candidate nodes (empty = every record present). */
export async function missingRecords(
  client: RedisClient,
  region: string,
  sample: readonly WorldSkuSample[],
): Promise<string[]> {
  const wrong: string[] = [];
  for (const s of sample) {
    const fields = await client.hkeys(skuKey(region, s.sku));
    const want = [...s.nodes].sort().join(',');
    if ([...fields].sort().join(',') !== want) wrong.push(s.sku);
  }
  return wrong;
}

/**
 * The least a record can cost in Redis: its value (the packed record) and its
 * field name (the node id). Any measured figure below it is a broken measurement.
 */
export function payloadBytesPerRecord(sample: readonly WorldSkuSample[]): number {
  let fields = 0;
  let nameBytes = 0;
  for (const s of sample) {
    for (const n of s.nodes) nameBytes += Buffer.byteLength(n);
    fields += s.nodes.length;
  }
  return RECORD_BYTES + nameBytes / Math.max(1, fields);
}
