/**
 * The world the sidecar benches run against (issue 17 item 3): a simulator
 * world (training/src/simulator/build-world.ts, Zipf popularity, the
 * simulator's stocking odds) of BENCH_WORLD_SKUS SKUs over enough nodes that
 * a SKU has tens of candidate nodes, written into a real Redis through the
 * batch job's directory publisher and the ingester's write path, and a list
 * of requests (SKU by popularity, buyer zone by population) that every load
 * generator of the bench replays in the same order.
 *
 * `tiny` is the previous shape (1,000 SKUs on the three test nodes, SKU-i
 * in turn, zone Z1-1), kept for comparison with older rows of RESULTS.md.
 */
import { writeFileSync } from 'node:fs';
import { connectRedis } from '../../adapters/src/redis/redis-client.js';
import { RedisFeatureStore } from '../../adapters/src/redis/redis-feature-store.js';
import type { NodeInfo } from '../../features/src/node-profile.js';
import type { InventoryEvent } from '../../proto/v1/inventory-event.js';
import { ev } from '../../tests/helpers/events.js';
import { publishTestDirectory } from '../../tests/helpers/redis-world.js';
import { TINY_NODES } from '../../tests/helpers/tiny-world.js';
import { buildWorld } from '../../training/src/simulator/build-world.js';

export const BENCH_REGION = 'eu-west';
export const BENCH_WORLD_SKUS = 10_000;
/** Node counts per type: with the simulator's stocking odds a SKU sits at ~20-60 of them. */
export const BENCH_WORLD_NODES = { warehouse: 40, store: 160, seller: 160 } as const;
export const BENCH_WORLD_SEED = 17;
/** Requests in the replayed list (sampled with replacement by popularity). */
export const BENCH_REQUESTS = 50_000;
/** Units of every tiny-world pair (never runs out during a bench). */
const TINY_UNITS = 10_000_000;
const TINY_SKUS = 1_000;
const WRITE_CHUNK = 2_000;

export type BenchWorldKind = 'sim' | 'tiny';

export interface BenchRequestLine {
  sku: string;
  zone: string;
}

export interface BenchWorldInfo {
  kind: BenchWorldKind;
  skus: number;
  nodes: number;
  stockedPairs: number;
  /** Mean stocked nodes per SKU, and per requested SKU (popularity-weighted). */
  meanNodesPerSku: number;
  meanNodesPerRequest: number;
  requests: BenchRequestLine[];
}

/** xorshift32, seeded: the request list is the same in every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

function pickCumulative(cum: Float64Array, u: number): number {
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cum[mid] ?? 0) < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function cumulative(weights: readonly number[]): Float64Array {
  const cum = new Float64Array(weights.length);
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i] ?? 0;
    cum[i] = acc;
  }
  for (let i = 0; i < cum.length; i++) cum[i] = (cum[i] ?? 0) / acc;
  return cum;
}

async function writeWorld(
  url: string,
  nodes: readonly NodeInfo[],
  stock: Iterable<{ sku: string; node: string; units: number }>,
  nowMs: number,
): Promise<void> {
  const client = await connectRedis(url, 'write');
  try {
    await publishTestDirectory(client, BENCH_REGION, nodes, nowMs);
    const store = new RedisFeatureStore(client, BENCH_REGION);
    // Heartbeats far enough in the future that nodes stay fresh for the whole run.
    await store.applyEvents(
      nodes.map((n) => ev('heartbeat', 0, 1, { node: n.nodeId, atMs: nowMs + 3_600_000 })),
    );
    let chunk: InventoryEvent[] = [];
    for (const s of stock) {
      chunk.push(ev('receipt', s.units, 1, { sku: s.sku, node: s.node, atMs: nowMs - 10_000 }));
      if (chunk.length >= WRITE_CHUNK) {
        await store.applyEvents(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) await store.applyEvents(chunk);
  } finally {
    client.disconnect();
  }
}

/** Builds the world, writes it into the Redis at `url`, returns its request list and shape. */
export async function seedBenchWorld(url: string, kind: BenchWorldKind): Promise<BenchWorldInfo> {
  const nowMs = Date.now();
  if (kind === 'tiny') {
    const nodes = TINY_NODES.map((n) => ({ ...n, region: BENCH_REGION }));
    function* stock() {
      for (let k = 0; k < TINY_SKUS; k++)
        for (const n of nodes) yield { sku: `SKU-${k}`, node: n.nodeId, units: TINY_UNITS };
    }
    await writeWorld(url, nodes, stock(), nowMs);
    const requests = Array.from({ length: TINY_SKUS }, (_, i) => ({ sku: `SKU-${i}`, zone: 'Z1-1' }));
    return {
      kind,
      skus: TINY_SKUS,
      nodes: nodes.length,
      stockedPairs: TINY_SKUS * nodes.length,
      meanNodesPerSku: nodes.length,
      meanNodesPerRequest: nodes.length,
      requests,
    };
  }
  const world = buildWorld({
    region: BENCH_REGION,
    seed: BENCH_WORLD_SEED,
    skuCount: BENCH_WORLD_SKUS,
    nodes: {
      warehouse: { count: BENCH_WORLD_NODES.warehouse },
      store: { count: BENCH_WORLD_NODES.store },
      seller: { count: BENCH_WORLD_NODES.seller },
    },
  });
  await writeWorld(
    url,
    world.nodes,
    world.pairs.map((p) => ({ sku: p.sku, node: p.node, units: p.initialUnits })),
    nowMs,
  );
  const skuCum = cumulative(world.skus.map((s) => s.popularity));
  const zoneCum = cumulative(world.zoneWeights);
  const next = rng(BENCH_WORLD_SEED);
  const requests: BenchRequestLine[] = [];
  let nodesPerRequest = 0;
  for (let i = 0; i < BENCH_REQUESTS; i++) {
    const sku = world.skus[pickCumulative(skuCum, next())]!.sku;
    requests.push({ sku, zone: world.zones[pickCumulative(zoneCum, next())]! });
    nodesPerRequest += world.stocking.get(sku)?.length ?? 0;
  }
  return {
    kind,
    skus: world.skus.length,
    nodes: world.nodes.length,
    stockedPairs: world.pairs.length,
    meanNodesPerSku: world.pairs.length / world.skus.length,
    meanNodesPerRequest: nodesPerRequest / BENCH_REQUESTS,
    requests,
  };
}

/** Writes the request list where the servers (warm-up) and load generators read it. */
export function writeRequestList(path: string, requests: readonly BenchRequestLine[]): void {
  writeFileSync(path, `${JSON.stringify(requests)}\n`);
}

/** The JSON body of request `i` of the list: a checkout of one unit, or a browse page of `pageSkus` SKUs. */
export function benchBody(requests: readonly BenchRequestLine[], i: number, pageSkus = 0): string {
  const r = requests[i % requests.length]!;
  if (pageSkus === 0) {
    return `{"request_id":"b-${i}","buyer_zone":"${r.zone}","channel":"checkout","items":[{"sku":"${r.sku}","qty":1}]}`;
  }
  const items: string[] = [];
  for (let k = 0; k < pageSkus; k++)
    items.push(`{"sku":"${requests[(i * pageSkus + k) % requests.length]!.sku}","qty":1}`);
  return `{"request_id":"p-${i}","buyer_zone":"${r.zone}","channel":"browse","items":[${items.join(',')}]}`;
}
