/**
 * A large sampled world, streamed: SKUs sampled uniformly from a catalogue of
 * CATALOGUE_SKUS (the seed's 120M) with Zipf popularity, each with its
 * candidate nodes out of CATALOGUE_NODES (the seed's 210K warehouses, stores
 * and sellers), as initial stock events (one receipt per (sku,node), sequence
 * 1). Nothing is held but the chunk being produced: memory stays bounded for
 * any number of SKUs.
 *
 * The shape follows the simulator's world builder (training/src/simulator/
 * build-world.ts), which cannot build this size (its stocking pass is SKUs x
 * nodes): popularity 1/r^ZIPF_EXPONENT, and stocking odds that grow with the
 * square root of relative popularity. Here the number of candidates of a SKU
 * of relative popularity `rel` (catalogue mean 1) is 1 + Poisson(LAMBDA0 *
 * sqrt(rel)), capped at MAX_CANDIDATES, with LAMBDA0 chosen so the catalogue
 * mean is the simulator world's mean (about 7 stocked nodes per SKU): most
 * SKUs sit at a handful of nodes, a few popular ones at hundreds or thousands.
 */
import type { InventoryEvent } from '../../proto/v1/inventory-event.js';

/** The seed's catalogue (DESIGN.md §1). */
export const CATALOGUE_SKUS = 120_000_000;
export const CATALOGUE_NODES = 210_000;
/** The simulator's default Zipf exponent. */
export const ZIPF_EXPONENT = 0.9;
/** The simulator's stocking odds grow with relative popularity to this power. */
export const STOCKING_POWER = 0.5;
/** Mean stocked nodes per SKU of the simulator's default world (2,000 SKUs, 48 nodes): 6.98. */
export const TARGET_MEAN_CANDIDATES = 6.98;
/** A SKU is a candidate at no more nodes than this (the head of the Zipf curve would ask for more). */
export const MAX_CANDIDATES = 2_000;
/** Node mix of the 210K: mostly third-party sellers, then stores, then warehouses. */
export const NODE_MIX = [
  { prefix: 'wh', count: 2_000, share: 0.2 },
  { prefix: 'st', count: 40_000, share: 0.4 },
  { prefix: 'sl', count: 168_000, share: 0.4 },
] as const;

/**
 * E[rel^STOCKING_POWER] over the catalogue, for rel(r) = (1 - s) (N / r)^s
 * (whose mean is 1): the integral of (1-s)^p (N/r)^(s p) over r in [1, N],
 * divided by N, is (1-s)^p / (1 - s p) for large N.
 */
const MEAN_REL_POWER = (1 - ZIPF_EXPONENT) ** STOCKING_POWER / (1 - ZIPF_EXPONENT * STOCKING_POWER);
/** Poisson mean per unit sqrt(rel) so that 1 + E[Poisson] = TARGET_MEAN_CANDIDATES. */
export const LAMBDA0 = (TARGET_MEAN_CANDIDATES - 1) / MEAN_REL_POWER;

const SKU_ID_WIDTH = String(CATALOGUE_SKUS).length;
const NODE_ID_WIDTH = String(CATALOGUE_NODES).length;

export interface LargeWorldOptions {
  skus: number;
  seed: number;
  /** Event time of every initial event (ms). */
  eventTimeMs: number;
  /** Events per yielded chunk (whole SKUs: a chunk may exceed it by one SKU's candidates). */
  chunkEvents: number;
}

export interface WorldSkuSample {
  sku: string;
  rank: number;
  nodes: string[];
}

/** xorshift32: fast, seedable, good enough for shaping a synthetic world. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Knuth for small means, a rounded normal approximation for large ones. */
  poisson(lambda: number): number {
    if (lambda > 50) {
      const u = Math.max(1e-12, this.next());
      const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
      return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * z));
    }
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }
}

/** Relative popularity (catalogue mean 1) of the SKU of rank `r` (1 = most popular). */
export function relativePopularity(r: number): number {
  return (1 - ZIPF_EXPONENT) * (CATALOGUE_SKUS / r) ** ZIPF_EXPONENT;
}

function nodeId(rng: Rng): string {
  let u = rng.next();
  for (const t of NODE_MIX) {
    if (u < t.share || t === NODE_MIX[NODE_MIX.length - 1]) {
      return `${t.prefix}-${String(1 + rng.int(t.count)).padStart(NODE_ID_WIDTH, '0')}`;
    }
    u -= t.share;
  }
  throw new Error('unreachable');
}

/**
 * Sampling without replacement: the i-th SKU of the sample has rank
 * 1 + (i * RANK_STRIDE + offset) mod CATALOGUE_SKUS, a permutation of the
 * catalogue (the stride is prime to its size) that spreads any prefix of it
 * evenly over popular and unpopular ranks.
 */
const RANK_STRIDE = 2_654_435_761 % CATALOGUE_SKUS;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
if (gcd(RANK_STRIDE, CATALOGUE_SKUS) !== 1) throw new Error('RANK_STRIDE must be prime to CATALOGUE_SKUS');

/** The SKU of rank `rank` and its candidate nodes. */
function sampleSku(rng: Rng, rank: number): WorldSkuSample {
  const lambda = LAMBDA0 * relativePopularity(rank) ** STOCKING_POWER;
  const k = Math.min(MAX_CANDIDATES, 1 + rng.poisson(lambda));
  const nodes = new Set<string>();
  while (nodes.size < k) nodes.add(nodeId(rng));
  return { sku: `sku-${String(rank).padStart(SKU_ID_WIDTH, '0')}`, rank, nodes: [...nodes] };
}

/** The sampled SKUs one by one, each rank at most once (deterministic for a seed). */
export function* largeWorldSkus(skus: number, seed: number): Generator<WorldSkuSample> {
  const rng = new Rng(seed);
  const offset = rng.int(CATALOGUE_SKUS);
  for (let i = 0; i < skus; i++) yield sampleSku(rng, 1 + ((i * RANK_STRIDE + offset) % CATALOGUE_SKUS));
}

export interface WorldChunk {
  events: InventoryEvent[];
  skus: WorldSkuSample[];
}

/** The world as chunks of initial stock events (one receipt per (sku,node)). */
export function* largeWorldChunks(o: LargeWorldOptions): Generator<WorldChunk> {
  let events: InventoryEvent[] = [];
  let skus: WorldSkuSample[] = [];
  let n = 0;
  for (const s of largeWorldSkus(o.skus, o.seed)) {
    skus.push(s);
    for (const node of s.nodes) {
      events.push({
        eventId: `lw-${++n}`,
        sku: s.sku,
        node,
        kind: 'receipt',
        quantity: 1 + (n % 20),
        sequence: 1,
        eventTimeMs: o.eventTimeMs,
        source: node.startsWith('sl') ? 'third-party' : 'first-party',
      });
    }
    if (events.length >= o.chunkEvents) {
      yield { events, skus };
      events = [];
      skus = [];
    }
  }
  if (events.length > 0) yield { events, skus };
}
