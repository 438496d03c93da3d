/**
 * The static world a simulation runs in: zones on a grid, nodes of three
 * types with their directory facts (NodeInfo, what the sidecar also knows),
 * SKUs with Zipf popularity, which node stocks what, and each node's hidden
 * behaviour (its traits: what a model must learn from events, never read).
 * Deterministic: the same config always builds the same world.
 */

import { type NodeInfo, zoneName } from '@mercato/features/node-profile';
import type { NodeType } from '@mercato/proto/v1/decision';
import { Prng } from './prng.js';
import { resolveSimConfig, type SimConfig, type SimConfigInput } from './sim-config.js';

/** PRNG stream of the world builder (the run uses its own streams). */
const WORLD_STREAM = 1;
/** Quarter-hour grid for handling hours, so pick times are whole minutes. */
const HANDLING_STEP_H = 0.25;
/** Stocking odds grow with the square root of relative popularity (popular SKUs sit in more nodes). */
const STOCKING_POPULARITY_POWER = 0.5;
/** Sellers lean to the long tail: their odds shrink slightly with popularity. */
const SELLER_POPULARITY_POWER = -0.2;
const MAX_STOCKING_PROBABILITY = 0.95;
/** Smallest order-up-to level per node type (units). */
const MIN_ORDER_UP_TO: Record<NodeType, number> = { warehouse: 8, store: 3, seller: 2 };
/** Node traits vary around the type mean by a log-uniform factor in [1/F, F]. */
const TRAIT_SPREAD = 2.5;
const ZONE_WEIGHT_RANGE: readonly [number, number] = [0.5, 1.5];
const BLACKOUT_LENGTH_H: readonly [number, number] = [2, 6];
const ID_PREFIX: Record<NodeType, string> = { warehouse: 'wh', store: 'st', seller: 'sl' };
const NODE_TYPES_IN_ORDER: readonly NodeType[] = ['warehouse', 'store', 'seller'];

export interface WorldSku {
  sku: string;
  /** Share of marketplace demand (all SKUs sum to 1). */
  popularity: number;
  /** Gets flash sales. */
  hot: boolean;
}

/** One stocked (sku,node) pair and its replenishment policy. */
export interface StockingPair {
  sku: string;
  node: string;
  skuIndex: number;
  nodeIndex: number;
  /** Reorder when the node's own inventory position falls to this many units. */
  reorderPoint: number;
  /** Order enough to bring the position back to this level. */
  orderUpTo: number;
  /** Physical (and recorded) units at the start of the run. */
  initialUnits: number;
  /** Expected demand at this pair (marketplace + local), units per hour; used for sizing only. */
  demandPerH: number;
}

/** Hidden behaviour of one node, drawn around its type's config. */
export interface NodeTraits {
  shrinkUnitsPerHour: number;
  localSalesPerHour: number;
  receiptScanErrorRate: number;
  cancelRate: number;
  adjustmentsPerHour: number;
  outagesPerDay: number;
  leadTimeH: readonly [number, number];
}

export interface World {
  region: string;
  /** Zone names, row-major. */
  zones: string[];
  /** Relative buyer population of each zone (same order as zones). */
  zoneWeights: number[];
  nodes: NodeInfo[];
  traits: NodeTraits[];
  skus: WorldSku[];
  /** sku -> ids of the nodes stocking it, in node order. */
  stocking: ReadonlyMap<string, readonly string[]>;
  pairs: StockingPair[];
}

/** `config` may be partial: it is resolved over the defaults (and validated) first. */
export function buildWorld(input: SimConfigInput | SimConfig = {}): World {
  const config = resolveSimConfig(input);
  const rng = new Prng(config.seed, WORLD_STREAM);
  const zones: string[] = [];
  const zoneWeights: number[] = [];
  for (let r = 0; r < config.gridRows; r++) {
    for (let c = 0; c < config.gridCols; c++) {
      zones.push(zoneName(r, c));
      zoneWeights.push(rng.uniform(ZONE_WEIGHT_RANGE[0], ZONE_WEIGHT_RANGE[1]));
    }
  }
  const zoneCum = cumulative(zoneWeights);

  const nodes: NodeInfo[] = [];
  const traits: NodeTraits[] = [];
  for (const type of NODE_TYPES_IN_ORDER) {
    const b = config.nodes[type];
    const width = Math.max(2, String(b.count).length);
    for (let i = 0; i < b.count; i++) {
      // Stores open where buyers live; warehouses and sellers anywhere.
      const zone =
        type === 'store' ? zones[rng.pickCumulative(zoneCum)]! : zones[rng.int(0, zones.length - 1)]!;
      const hasCap = rng.chance(b.dailyCapShare);
      const hasBlackout = rng.chance(b.blackoutShare);
      const blackoutLen = rng.int(BLACKOUT_LENGTH_H[0], BLACKOUT_LENGTH_H[1]);
      const blackoutStart = rng.int(0, 24 - blackoutLen);
      nodes.push({
        nodeId: `${ID_PREFIX[type]}-${String(i + 1).padStart(width, '0')}`,
        nodeType: type,
        region: config.region,
        zone,
        handlingHours: roundTo(rng.uniform(b.handlingHours[0], b.handlingHours[1]), HANDLING_STEP_H),
        baseCost: Math.round(rng.uniform(b.baseCost[0], b.baseCost[1]) * 100) / 100,
        serviceRadius: rng.int(b.serviceRadius[0], b.serviceRadius[1]),
        dailyOrderCap: hasCap ? rng.int(b.dailyCap[0], b.dailyCap[1]) : 0,
        blackoutHoursUtc: hasBlackout ? [blackoutStart, blackoutStart + blackoutLen] : null,
      });
      const lead0 = rng.uniform(b.leadTimeH[0], b.leadTimeH[1]);
      traits.push({
        shrinkUnitsPerHour: b.shrinkUnitsPerHour * spread(rng),
        localSalesPerHour: b.localSalesPerHour * spread(rng),
        receiptScanErrorRate: Math.min(1, b.receiptScanErrorRate * spread(rng)),
        cancelRate: Math.min(1, b.nodeCancelRate * spread(rng)),
        adjustmentsPerHour: b.adjustmentsPerHour * spread(rng),
        outagesPerDay: b.outagesPerDay * spread(rng),
        leadTimeH: [lead0, lead0 + (b.leadTimeH[1] - b.leadTimeH[0]) / 2],
      });
    }
  }

  const skus = buildSkus(config);
  const pairs = stockPairs(config, rng, nodes, traits, skus);
  const stocking = new Map<string, string[]>();
  for (const s of skus) stocking.set(s.sku, []);
  for (const p of pairs) stocking.get(p.sku)!.push(p.node);
  return { region: config.region, zones, zoneWeights, nodes, traits, skus, stocking, pairs };
}

function buildSkus(config: SimConfig): WorldSku[] {
  const n = config.skuCount;
  const width = Math.max(5, String(n).length);
  let total = 0;
  const w = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    w[r] = 1 / (r + 1) ** config.zipfExponent;
    total += w[r]!;
  }
  const hotCount = Math.round(n * config.hotSkuShare);
  const skus: WorldSku[] = [];
  for (let r = 0; r < n; r++) {
    skus.push({
      sku: `sku-${String(r + 1).padStart(width, '0')}`,
      popularity: w[r]! / total,
      hot: r < hotCount,
    });
  }
  return skus;
}

function stockPairs(
  config: SimConfig,
  rng: Prng,
  nodes: NodeInfo[],
  traits: NodeTraits[],
  skus: WorldSku[],
): StockingPair[] {
  const n = skus.length;
  const stocked: number[][] = skus.map(() => []);
  for (let s = 0; s < n; s++) {
    const rel = skus[s]!.popularity * n;
    for (let j = 0; j < nodes.length; j++) {
      const type = nodes[j]!.nodeType;
      const power = type === 'seller' ? SELLER_POPULARITY_POWER : STOCKING_POPULARITY_POWER;
      const p = Math.min(MAX_STOCKING_PROBABILITY, config.nodes[type].stockingShare * rel ** power);
      if (rng.chance(p)) stocked[s]!.push(j);
    }
    // Every SKU is sold somewhere: fall back to one random node.
    if (stocked[s]!.length === 0) stocked[s]!.push(rng.int(0, nodes.length - 1));
  }

  // Local demand (walk-in, off-platform) spreads over a node's assortment by popularity.
  const assortmentWeight = new Float64Array(nodes.length);
  for (let s = 0; s < n; s++) for (const j of stocked[s]!) assortmentWeight[j]! += skus[s]!.popularity;

  const marketplaceUnitsPerH = config.checkoutsPerS * 3600 * meanQty(config);
  const pairs: StockingPair[] = [];
  for (let s = 0; s < n; s++) {
    const sku = skus[s]!;
    const holders = stocked[s]!;
    for (const j of holders) {
      const node = nodes[j]!;
      const b = config.nodes[node.nodeType];
      const local = (traits[j]!.localSalesPerHour * sku.popularity) / assortmentWeight[j]!;
      const demandPerH = (marketplaceUnitsPerH * sku.popularity) / holders.length + local;
      const lead = (traits[j]!.leadTimeH[0] + traits[j]!.leadTimeH[1]) / 2;
      const reorderPoint = Math.ceil(demandPerH * lead);
      const orderUpTo = Math.max(
        MIN_ORDER_UP_TO[node.nodeType],
        reorderPoint + Math.ceil(demandPerH * rng.uniform(b.coverH[0], b.coverH[1])),
      );
      pairs.push({
        sku: sku.sku,
        node: node.nodeId,
        skuIndex: s,
        nodeIndex: j,
        reorderPoint,
        orderUpTo,
        initialUnits: Math.max(1, Math.round(orderUpTo * rng.uniform(0.4, 1))),
        demandPerH,
      });
    }
  }
  return pairs;
}

export function meanQty(config: SimConfig): number {
  const rest = 1 - config.qtyOneShare - config.qtyTwoShare;
  return config.qtyOneShare + 2 * config.qtyTwoShare + 4 * rest;
}

/** Running sums of weights, for Prng.pickCumulative. */
export function cumulative(weights: ArrayLike<number>): Float64Array {
  const cum = new Float64Array(weights.length);
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i]!;
    cum[i] = acc;
  }
  return cum;
}

function spread(rng: Prng): number {
  return rng.logUniform(1 / TRAIT_SPREAD, TRAIT_SPREAD);
}

function roundTo(v: number, step: number): number {
  return Math.max(step, Math.round(v / step) * step);
}
