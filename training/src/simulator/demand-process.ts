/**
 * Demand: who buys what. Marketplace checkouts arrive as a Poisson stream
 * over the region; each picks a SKU by Zipf popularity, a buyer zone by
 * population and a quantity, and is decided by the "production" naive
 * policy (nearest ETA first, on_hand - reserved >= qty on the delivered
 * view, skipping nodes closed by blackout hours or a full daily cap); flash
 * sales add extra streams for hot SKUs. Off-platform buyers (walk-in
 * customers, a seller's other channels) take units at each node, recorded at
 * once, late, or never. Under external routing a checkout is yielded
 * undecided and handed to ExternalRouting to wait for its answer.
 */
import { etaHours, serves } from '@mercato/features/node-profile';
import { cumulative } from './build-world.js';
import type { ExternalRouting } from './external-routing.js';
import type { FeedProcess } from './feed-process.js';
import type { FulfilmentProcess } from './fulfilment-process.js';
import { type CandidateList, type CheckoutOrder, type FlashSale, ITEM, ORDER } from './sim-item.js';
import { MS_PER_DAY, MS_PER_H, MS_PER_MIN, type SimKernel } from './sim-kernel.js';
import type { StockLedger } from './stock-ledger.js';
import type { SupplyProcess } from './supply-process.js';

/** A store's walk-in customer or a seller's other channel buys 2 units this often, else 1. */
const LOCAL_SALE_TWO_UNITS_SHARE = 0.1;
/** Tries to find a hot SKU not already on flash sale before giving up on one start. */
const FLASH_PICK_TRIES = 4;
/**
 * Decision ids of naive promises in a world with external routing (its
 * warm-up): their order outcomes are reported too, so outcome history
 * starts with the world, under ids no data plane issues.
 */
export const NAIVE_DECISION_PREFIX = 'sim-naive-';

export class DemandProcess {
  checkoutCounter = 0;
  promisedCount = 0;
  /** Set by stopCheckouts: no more marketplace checkouts (the world drains its open orders). */
  private stopped = false;
  private readonly skuCum: Float64Array;
  private readonly zoneCum: Float64Array;
  private readonly candCache: (CandidateList | undefined)[];
  private readonly onFlash: Uint8Array;
  private readonly hotSkus: number[] = [];
  /** Per node: the day ordersToday counts (-1 = none yet) and the orders promised that day. */
  private readonly capDay: Float64Array;
  private readonly ordersToday: Int32Array;

  constructor(
    private readonly k: SimKernel,
    private readonly ledger: StockLedger,
    private readonly feeds: FeedProcess,
    private readonly supply: SupplyProcess,
    private readonly fulfilment: FulfilmentProcess,
    private readonly external: ExternalRouting,
  ) {
    const w = k.world;
    this.skuCum = cumulative(w.skus.map((s) => s.popularity));
    this.zoneCum = cumulative(w.zoneWeights);
    this.candCache = new Array<CandidateList | undefined>(w.skus.length * w.zones.length);
    this.onFlash = new Uint8Array(w.skus.length);
    w.skus.forEach((s, i) => {
      if (s.hot) this.hotSkus.push(i);
    });
    this.capDay = new Float64Array(w.nodes.length).fill(-1);
    this.ordersToday = new Int32Array(w.nodes.length);
  }

  /** First marketplace arrival and first flash sale. */
  start(): void {
    const k = this.k;
    k.atPoisson(k.config.checkoutsPerS * 3600, ITEM.ARRIVAL);
    if (this.hotSkus.length > 0) k.atPoisson(k.config.flashSalesPerHour, ITEM.FLASH_START);
  }

  /** First local sale of node j (a node stocking something). */
  startNode(j: number): void {
    this.k.atPoisson(this.k.world.traits[j]!.localSalesPerHour, ITEM.LOCAL_SALE, j);
  }

  /**
   * No more marketplace checkouts or flash sales from now on; the rest of the
   * world (supply, local sales, fulfilment, feeds) keeps running.
   */
  stopCheckouts(): void {
    this.stopped = true;
  }

  /** A marketplace buyer arrives: a SKU by popularity. */
  arrival(): void {
    if (this.stopped) return;
    const k = this.k;
    this.checkout(k.rng.pickCumulative(this.skuCum));
    k.atPoisson(k.config.checkoutsPerS * 3600, ITEM.ARRIVAL);
  }

  flashStart(): void {
    if (this.stopped) return;
    const k = this.k;
    const c = k.config;
    for (let tries = 0; tries < FLASH_PICK_TRIES; tries++) {
      const s = this.hotSkus[k.rng.int(0, this.hotSkus.length - 1)]!;
      if (this.onFlash[s] === 1) continue;
      const untilMs = k.nowMs + Math.round(k.rng.uniform(c.flashMinutes[0], c.flashMinutes[1]) * MS_PER_MIN);
      const mult = k.rng.uniform(c.flashMultiplier[0], c.flashMultiplier[1]);
      const sale: FlashSale = {
        sku: s,
        untilMs,
        extraPerH:
          Math.min(c.checkoutsPerS * k.world.skus[s]!.popularity * (mult - 1), c.flashMaxExtraPerS) * 3600,
      };
      const first = k.afterPoisson(sale.extraPerH);
      if (first < untilMs) {
        this.onFlash[s] = 1;
        k.at(first, ITEM.FLASH_ARRIVAL, s, sale);
      }
      break;
    }
    k.atPoisson(c.flashSalesPerHour, ITEM.FLASH_START);
  }

  flashArrival(sale: FlashSale): void {
    if (this.stopped) {
      if (sale.forced !== true) this.onFlash[sale.sku] = 0;
      return;
    }
    const k = this.k;
    this.checkout(sale.sku);
    const next = k.afterPoisson(sale.extraPerH);
    if (next < sale.untilMs) k.at(next, ITEM.FLASH_ARRIVAL, sale.sku, sale);
    else if (sale.forced !== true) this.onFlash[sale.sku] = 0;
  }

  /**
   * A scenario's flash sale starts now (Simulator.forceFlashSale): its first
   * extra arrival is drawn now, in stream order, like a random sale's.
   */
  forcedFlashStart(sale: FlashSale): void {
    if (this.stopped) return;
    const first = this.k.afterPoisson(sale.extraPerH);
    if (first < sale.untilMs) this.k.at(first, ITEM.FLASH_ARRIVAL, sale.sku, sale);
  }

  /** An off-platform sale at node j: recorded at once (a short delay), late, or never. */
  localSale(j: number): void {
    const k = this.k;
    const p = k.index.pickPairAt(j, k.rng);
    const q = k.rng.chance(LOCAL_SALE_TWO_UNITS_SHARE) ? 2 : 1;
    if (this.ledger.physical[p]! >= q) {
      this.ledger.move(p, -q);
      const b = k.config.nodes[k.index.nodes[j]!.nodeType];
      const r = k.rng.float();
      if (r < b.localSaleUnrecordedShare) {
        // Missed scan or off-platform sale left to the next count/sync: only physical stock moves.
      } else if (r < b.localSaleUnrecordedShare + b.localSaleLateShare) {
        const delayMs = Math.round(k.rng.uniform(b.localSaleLateH[0], b.localSaleLateH[1]) * MS_PER_H);
        k.at(k.nowMs + delayMs, ITEM.LATE_REPORT, p, null, q, this.supply.countEpoch[p]!);
      } else {
        this.feeds.emit(p, 'sale', q, true);
      }
      this.supply.replenishCheck(p);
    }
    k.atPoisson(k.world.traits[j]!.localSalesPerHour, ITEM.LOCAL_SALE, j);
  }

  /** A late local-sale report of pair p, scheduled at count epoch `epoch`. */
  lateReport(p: number, units: number, epoch: number): void {
    // A count since the sale already put the loss on record: reporting it now would count it twice.
    if (this.supply.countEpoch[p] === epoch) this.feeds.emit(p, 'sale', units, true);
  }

  private checkout(s: number): void {
    const k = this.k;
    const z = k.rng.pickCumulative(this.zoneCum);
    const qty = this.drawQty();
    const cands = this.candidates(s, z);
    if (this.external.isExternal(k.nowMs)) {
      this.externalCheckout(s, z, qty, cands);
      return;
    }
    const { pairNode } = k.index;
    // The "production" naive policy: nearest ETA first, on_hand - reserved >= qty on the delivered view.
    let promised = -1;
    for (let n = 0; n < cands.pairs.length; n++) {
      const p = cands.pairs[n]!;
      if (this.closed(pairNode[p]!)) continue;
      if (this.feeds.dvOnHand[p]! - this.feeds.dvReserved[p]! >= qty) {
        promised = n;
        break;
      }
    }
    const id = `c-${k.config.seed}-${++this.checkoutCounter}`;
    k.out.push({
      type: 'checkout',
      atMs: k.nowMs,
      checkoutId: id,
      region: k.world.region,
      buyerZone: k.world.zones[z]!,
      sku: k.world.skus[s]!.sku,
      qty,
      channel: 'checkout',
      candidates: cands.nodeIds.slice(),
      promisedNode: promised >= 0 ? cands.nodeIds[promised]! : null,
    });
    const co: CheckoutOrder = {
      id,
      sku: s,
      qty,
      atMs: k.nowMs,
      cands,
      remaining: cands.pairs.length,
      feasible: new Array<boolean>(cands.pairs.length).fill(false),
      promised,
      status: ORDER.ACTIVE,
      decisionId: promised >= 0 && k.config.routing === 'external' ? NAIVE_DECISION_PREFIX + id : null,
      freeUnitsAtPromise: 0,
    };
    if (promised >= 0) {
      const j = pairNode[cands.pairs[promised]!]!;
      this.promisedCount++;
      if (k.index.nodes[j]!.dailyOrderCap > 0) this.ordersToday[j]! += 1;
    }
    this.fulfilment.open(co);
  }

  /** An undecided checkout: yielded for the caller to decide, held until its answer (or timeout). */
  private externalCheckout(s: number, z: number, qty: number, cands: CandidateList): void {
    const k = this.k;
    const id = `c-${k.config.seed}-${++this.checkoutCounter}`;
    k.out.push({
      type: 'checkout',
      atMs: k.nowMs,
      checkoutId: id,
      region: k.world.region,
      buyerZone: k.world.zones[z]!,
      sku: k.world.skus[s]!.sku,
      qty,
      channel: 'checkout',
      candidates: cands.nodeIds.slice(),
      promisedNode: null,
    });
    this.external.hold({
      id,
      sku: s,
      qty,
      atMs: k.nowMs,
      cands,
      remaining: cands.pairs.length,
      feasible: new Array<boolean>(cands.pairs.length).fill(false),
      promised: -1,
      status: ORDER.PENDING,
      decisionId: null,
      freeUnitsAtPromise: 0,
    });
  }

  private drawQty(): number {
    const k = this.k;
    const c = k.config;
    const r = k.rng.float();
    if (r < c.qtyOneShare) return 1;
    if (r < c.qtyOneShare + c.qtyTwoShare) return 2;
    return k.rng.int(3, 5);
  }

  private candidates(s: number, z: number): CandidateList {
    const k = this.k;
    const key = s * k.world.zones.length + z;
    const hit = this.candCache[key];
    if (hit !== undefined) return hit;
    const zone = k.world.zones[z]!;
    const list: { p: number; eta: number; id: string }[] = [];
    for (const p of k.index.skuPairs[s]!) {
      const node = k.index.nodes[k.index.pairNode[p]!]!;
      if (serves(node, zone)) list.push({ p, eta: etaHours(node, zone), id: node.nodeId });
    }
    list.sort((a, b) => a.eta - b.eta || cmp(a.id, b.id));
    const cands: CandidateList = {
      pairs: Int32Array.from(list, (x) => x.p),
      nodeIds: list.map((x) => x.id),
    };
    this.candCache[key] = cands;
    return cands;
  }

  /** A hard rule, not stock: the node takes no order now (blackout hour or daily cap reached). */
  private closed(j: number): boolean {
    const k = this.k;
    const node = k.index.nodes[j]!;
    const b = node.blackoutHoursUtc;
    if (b !== null) {
      const hour = Math.floor((k.nowMs % MS_PER_DAY) / MS_PER_H);
      if (b[0] <= b[1] ? hour >= b[0] && hour < b[1] : hour >= b[0] || hour < b[1]) return true;
    }
    if (node.dailyOrderCap > 0) {
      const day = Math.floor(k.nowMs / MS_PER_DAY);
      if (this.capDay[j] !== day) {
        this.capDay[j] = day;
        this.ordersToday[j] = 0;
      }
      if (this.ordersToday[j]! >= node.dailyOrderCap) return true;
    }
    return false;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
