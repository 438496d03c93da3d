/**
 * The seeded, deterministic, streaming world simulator. One discrete-event
 * loop moves the physical world (checkouts, picks, local sales, shrink,
 * replenishment, counts, feed outages) and emits inventory events; each event
 * is delivered after a transport delay drawn per node type (or held until a
 * feed outage ends). `run()` yields records in delivery order, so a consumer
 * sees exactly what the production system would see, when it would see it.
 *
 * Memory: only what is scheduled is held (a timer per node process, a probe
 * entry per candidate of each open checkout, events in flight or held by an
 * outage, pending returns, replenishments and late reports): each is a rate
 * times a horizon fixed by the config (handling time, delay bound, outage
 * length, return delay), so it is bounded by world size, not run length.
 */

import { etaHours, type NodeInfo, serves } from '@mercato/features/node-profile';
import type { NodeType } from '@mercato/proto/v1/decision';
import { type EventKind, HEARTBEAT_SKU, type InventoryEvent } from '@mercato/proto/v1/inventory-event';
import { buildWorld, cumulative, type World } from './build-world.js';
import { EventQueue, type Scheduled } from './event-queue.js';
import { Prng } from './prng.js';
import { resolveSimConfig, SIM_MAX_DELAY_MS, type SimConfig, type SimConfigInput } from './sim-config.js';
import type { CancelledBy, SimOutcomeRecord, SimRecord } from './sim-record.js';

const MS_PER_MIN = 60_000;
const MS_PER_H = 3_600_000;
const MS_PER_DAY = 86_400_000;
/** Initial stock is received over this window; demand processes start after it. */
export const BOOT_WINDOW_MS = 60_000;
/** PRNG stream of the run (the world builder uses its own). */
const RUN_STREAM = 2;
/** A store's walk-in customer or a seller's other channel buys 2 units this often, else 1. */
const LOCAL_SALE_TWO_UNITS_SHARE = 0.1;
/** Adjustments: most are damaged-goods write-offs of 1..2 units, the rest found units (+1). */
const ADJUSTMENT_WRITE_OFF_SHARE = 0.8;
const WRITE_OFF_MAX_UNITS = 2;
/** A receipt scan error misstates the quantity by 1..this many units. */
const SCAN_ERROR_MAX_UNITS = 2;
/** Seller syncs come every syncIntervalH times a factor in this range (they are not clockwork). */
const SYNC_JITTER: readonly [number, number] = [0.8, 1.2];
/** A node's probe FIFO drops its consumed head once this many entries are consumed (and at least half). */
const PROBE_COMPACT_AT = 1024;
/** Tries to find a hot SKU not already on flash sale before giving up on one start. */
const FLASH_PICK_TRIES = 4;

/** Deliveries run before world actions due at the same ms: a checkout at t sees events delivered at t. */
const RANK_DELIVER = 0;
const RANK_ACTION = 1;

// Item kinds (plain numbers: the hot loop switches on them).
const DELIVER = 0;
const BOOT = 1;
const ARRIVAL = 2;
const FLASH_START = 3;
const FLASH_ARRIVAL = 4;
const PROBE = 5;
const BUYER_CANCEL = 6;
const NODE_CANCEL = 7;
const RETURN = 8;
const RECEIPT = 9;
const HEARTBEAT = 10;
const OUTAGE_START = 11;
const OUTAGE_END = 12;
const LOCAL_SALE = 13;
const LATE_REPORT = 14;
const SHRINK = 15;
const ADJUST = 16;
const ROUTINE_COUNT = 17;
const TRIGGERED_COUNT = 18;
const SYNC = 19;

// Order states.
const ACTIVE = 0;
const BUYER_CANCELLED = 1;
const NODE_CANCELLED = 2;
const PICKED = 3;
const PICK_FAILED = 4;

interface Item extends Scheduled {
  kind: number;
  /** Pair, node or SKU index, by kind. */
  i: number;
  /** Units (returns, late reports); for deliveries 1 = held by an outage. */
  q: number;
  epoch: number;
  ref: InventoryEvent | Checkout | FlashSale | null;
}

/** A running flash sale: an extra Poisson stream of checkouts for one hot SKU. */
interface FlashSale {
  sku: number;
  untilMs: number;
  /** Extra checkouts per hour on top of the base demand: base rate x (multiplier - 1). */
  extraPerH: number;
}

/** Candidates of one (sku, buyer zone), cached: the world is static. */
interface CandidateList {
  pairs: Int32Array;
  nodeIds: string[];
}

interface Checkout {
  id: string;
  sku: number;
  qty: number;
  atMs: number;
  cands: CandidateList;
  /** Candidates whose pick time has not come yet; the outcome is due when it reaches 0. */
  remaining: number;
  feasible: boolean[];
  /** Position of the promised candidate, -1 when not promised. */
  promised: number;
  status: number;
}

/** What a correct consumer holds for a pair after applying every emitted event in sequence order. */
export interface SystemViewEntry {
  sku: string;
  node: string;
  onHand: number;
  reserved: number;
  lastSequence: number;
}

/** Running totals, for progress lines and sanity checks. */
export interface SimStats {
  nowMs: number;
  eventsEmitted: number;
  eventsDelivered: number;
  checkouts: number;
  promised: number;
  outcomes: number;
  heldEvents: number;
  pendingItems: number;
}

export class Simulator {
  readonly config: SimConfig;
  readonly world: World;
  private readonly rng: Prng;
  private readonly queue = new EventQueue<Item>();
  private readonly out: SimRecord[] = [];
  private nowMs: number;
  private started = false;
  private draining = false;
  private eventCounter = 0;
  /** `e-<seed>-`: event ids are this plus the emission counter. */
  private readonly eventIdPrefix: string;
  private checkoutCounter = 0;
  private delivered = 0;
  private promisedCount = 0;
  private outcomeCount = 0;

  // Per pair (index into world.pairs).
  private readonly pairSku: Int32Array;
  private readonly pairNode: Int32Array;
  private readonly pairIndex = new Map<string, number>();
  private readonly physicalUnits: Int32Array;
  /** Emitted view: every emitted event applied (the node's own records). */
  private readonly emOnHand: Float64Array;
  private readonly emReserved: Float64Array;
  private readonly emSeq: Float64Array;
  /** Delivered view: what the production consumer has applied by now (routing uses it). */
  private readonly dvOnHand: Float64Array;
  private readonly dvReserved: Float64Array;
  private readonly dvNext: Float64Array;
  private readonly dvPending: (InventoryEvent[] | null)[];
  private dvPendingCount = 0;
  private readonly onOrder: Int32Array;
  private readonly countEpoch: Int32Array;
  private readonly countScheduled: Uint8Array;

  // Per node.
  private readonly nodes: NodeInfo[];
  private readonly handlingMs: Float64Array;
  private readonly nodeSeq: Float64Array;
  private readonly outageUntilMs: Float64Array;
  private readonly held: Item[][];
  private heldCount = 0;
  private readonly capDay: Float64Array;
  private readonly ordersToday: Int32Array;
  private readonly nodePairs: Int32Array[];
  private readonly nodePairCum: Float64Array[];
  /** Pending pick-time probes per node, in due order (see enqueueProbe). */
  private readonly probeFifo: { cos: Checkout[]; ks: number[]; head: number }[];
  private openCheckouts = 0;

  // Per SKU / zone.
  private readonly skuCum: Float64Array;
  private readonly zoneCum: Float64Array;
  private readonly skuPairs: Int32Array[];
  private readonly candCache: (CandidateList | undefined)[];
  private readonly onFlash: Uint8Array;
  private readonly hotSkus: number[];

  constructor(input: SimConfigInput | SimConfig = {}) {
    this.config = resolveSimConfig(input);
    this.world = buildWorld(this.config);
    this.rng = new Prng(this.config.seed, RUN_STREAM);
    this.nowMs = this.config.startTimeMs;
    this.eventIdPrefix = `e-${this.config.seed}-`;
    const w = this.world;
    const P = w.pairs.length;
    this.pairSku = new Int32Array(P);
    this.pairNode = new Int32Array(P);
    this.physicalUnits = new Int32Array(P);
    this.emOnHand = new Float64Array(P);
    this.emReserved = new Float64Array(P);
    this.emSeq = new Float64Array(P);
    this.dvOnHand = new Float64Array(P);
    this.dvReserved = new Float64Array(P);
    this.dvNext = new Float64Array(P).fill(1);
    this.dvPending = new Array<InventoryEvent[] | null>(P).fill(null);
    this.onOrder = new Int32Array(P);
    this.countEpoch = new Int32Array(P);
    this.countScheduled = new Uint8Array(P);
    const skuPairs: number[][] = w.skus.map(() => []);
    const nodePairs: number[][] = w.nodes.map(() => []);
    w.pairs.forEach((p, i) => {
      this.pairSku[i] = p.skuIndex;
      this.pairNode[i] = p.nodeIndex;
      this.pairIndex.set(`${p.sku}|${p.node}`, i);
      skuPairs[p.skuIndex]!.push(i);
      nodePairs[p.nodeIndex]!.push(i);
    });
    this.skuPairs = skuPairs.map((a) => Int32Array.from(a));
    this.nodePairs = nodePairs.map((a) => Int32Array.from(a));
    this.nodePairCum = nodePairs.map((a) =>
      cumulative(a.map((p) => w.skus[w.pairs[p]!.skuIndex]!.popularity)),
    );

    this.nodes = w.nodes;
    const N = w.nodes.length;
    this.handlingMs = Float64Array.from(w.nodes, (n) => Math.round(n.handlingHours * MS_PER_H));
    this.nodeSeq = new Float64Array(N);
    this.outageUntilMs = new Float64Array(N);
    this.held = w.nodes.map(() => []);
    this.capDay = new Float64Array(N).fill(-1);
    this.ordersToday = new Int32Array(N);
    this.probeFifo = w.nodes.map(() => ({ cos: [], ks: [], head: 0 }));

    this.skuCum = cumulative(w.skus.map((s) => s.popularity));
    this.zoneCum = cumulative(w.zoneWeights);
    this.candCache = new Array<CandidateList | undefined>(w.skus.length * w.zones.length);
    this.onFlash = new Uint8Array(w.skus.length);
    this.hotSkus = [];
    w.skus.forEach((s, i) => {
      if (s.hot) this.hotSkus.push(i);
    });
    this.scheduleInitial();
  }

  /**
   * Yields every record in delivery order. Call once. Without maxEvents or
   * durationMs it never ends; with them the world stops after the action that
   * reached the limit, and every event already emitted is still delivered.
   */
  *run(): Generator<SimRecord, void, undefined> {
    if (this.started) throw new Error('Simulator.run() may be called only once');
    this.started = true;
    const c = this.config;
    const endMs = c.durationMs > 0 ? c.startTimeMs + c.durationMs : Number.POSITIVE_INFINITY;
    const out = this.out;
    for (;;) {
      const it = this.queue.pop();
      if (it === undefined) return;
      if (it.kind !== DELIVER) {
        if (this.draining) continue;
        if (it.atMs >= endMs) {
          this.beginDrain();
          continue;
        }
      }
      this.nowMs = it.atMs;
      this.process(it);
      if (!this.draining && c.maxEvents > 0 && this.eventCounter >= c.maxEvents) this.beginDrain();
      for (let k = 0; k < out.length; k++) yield out[k]!;
      out.length = 0;
    }
  }

  /** Physical units of a pair at the current point of the stream (0 when not stocked there). */
  physical(sku: string, node: string): number {
    const p = this.pairIndex.get(`${sku}|${node}`);
    return p === undefined ? 0 : this.physicalUnits[p]!;
  }

  /** Every pair with at least one emitted event, keyed `sku|node` (the FeatureState pair key). */
  systemView(): Map<string, SystemViewEntry> {
    const view = new Map<string, SystemViewEntry>();
    const w = this.world;
    for (let p = 0; p < w.pairs.length; p++) {
      if (this.emSeq[p] === 0) continue;
      const pair = w.pairs[p]!;
      view.set(`${pair.sku}|${pair.node}`, {
        sku: pair.sku,
        node: pair.node,
        onHand: this.emOnHand[p]!,
        reserved: this.emReserved[p]!,
        lastSequence: this.emSeq[p]!,
      });
    }
    return view;
  }

  /** The view naive routing used at this point: delivered events applied in sequence order. */
  routingView(
    sku: string,
    node: string,
  ): { onHand: number; reserved: number; nextSequence: number } | undefined {
    const p = this.pairIndex.get(`${sku}|${node}`);
    if (p === undefined) return undefined;
    return { onHand: this.dvOnHand[p]!, reserved: this.dvReserved[p]!, nextSequence: this.dvNext[p]! };
  }

  /**
   * Items waiting inside the simulator: scheduled items, checkouts awaiting a
   * pick time, events held by outages, early events buffered for routing.
   */
  pendingSize(): number {
    return this.queue.size + this.openCheckouts + this.heldCount + this.dvPendingCount;
  }

  stats(): SimStats {
    return {
      nowMs: this.nowMs,
      eventsEmitted: this.eventCounter,
      eventsDelivered: this.delivered,
      checkouts: this.checkoutCounter,
      promised: this.promisedCount,
      outcomes: this.outcomeCount,
      heldEvents: this.heldCount,
      pendingItems: this.pendingSize(),
    };
  }

  // ---- scheduling ---------------------------------------------------------

  private at(atMs: number, kind: number, i = 0, ref: Item['ref'] = null, q = 0): void {
    this.queue.push({
      atMs,
      rank: kind === DELIVER ? RANK_DELIVER : RANK_ACTION,
      order: 0,
      kind,
      i,
      q,
      epoch: 0,
      ref,
    });
  }

  /** Next arrival of a Poisson process with the given rate per hour (Infinity when the rate is 0). */
  private afterPoisson(perHour: number): number {
    if (perHour <= 0) return Number.POSITIVE_INFINITY;
    return this.nowMs + Math.round(this.rng.exp(MS_PER_H / perHour));
  }

  private atPoisson(perHour: number, kind: number, i = 0): void {
    const t = this.afterPoisson(perHour);
    if (t !== Number.POSITIVE_INFINITY) this.at(t, kind, i);
  }

  private scheduleInitial(): void {
    const c = this.config;
    const start = c.startTimeMs;
    if (this.world.pairs.length > 0) this.at(start, BOOT, 0);
    this.nowMs = start + BOOT_WINDOW_MS;
    this.atPoisson(c.checkoutsPerS * 3600, ARRIVAL);
    if (this.hotSkus.length > 0) this.atPoisson(c.flashSalesPerHour, FLASH_START);
    for (let j = 0; j < this.nodes.length; j++) {
      const type = this.nodes[j]!.nodeType;
      const b = c.nodes[type];
      const tr = this.world.traits[j]!;
      const pairs = this.nodePairs[j]!.length;
      this.at(start + this.rng.int(0, c.heartbeatIntervalMs - 1), HEARTBEAT, j);
      this.atPoisson(tr.outagesPerDay / 24, OUTAGE_START, j);
      if (pairs === 0) continue;
      this.atPoisson(tr.localSalesPerHour, LOCAL_SALE, j);
      this.atPoisson(tr.shrinkUnitsPerHour, SHRINK, j);
      this.atPoisson(tr.adjustmentsPerHour, ADJUST, j);
      if (b.countIntervalH > 0) this.atPoisson(pairs / b.countIntervalH, ROUTINE_COUNT, j);
      if (b.syncIntervalH > 0) {
        this.at(this.nowMs + Math.round(this.rng.uniform(0, b.syncIntervalH) * MS_PER_H), SYNC, j);
      }
    }
    this.nowMs = start;
  }

  /**
   * The world stops: drop every scheduled action and every open checkout (it
   * gets no outcome), release held events at their outage end, and keep
   * delivering what was emitted.
   */
  private beginDrain(): void {
    this.draining = true;
    for (let j = 0; j < this.held.length; j++) this.releaseHeld(j, this.outageUntilMs[j]!);
    this.queue.retain((it) => it.kind === DELIVER);
    for (const fifo of this.probeFifo) {
      fifo.cos.length = 0;
      fifo.ks.length = 0;
      fifo.head = 0;
    }
    this.openCheckouts = 0;
  }

  // ---- the loop -----------------------------------------------------------

  private process(it: Item): void {
    switch (it.kind) {
      case DELIVER:
        this.deliver(it.atMs, it.i, it.ref as InventoryEvent, it.q === 1);
        return;
      case BOOT:
        this.boot(it.i);
        return;
      case ARRIVAL:
        this.checkout(this.rng.pickCumulative(this.skuCum));
        this.atPoisson(this.config.checkoutsPerS * 3600, ARRIVAL);
        return;
      case FLASH_START:
        this.flashStart();
        return;
      case FLASH_ARRIVAL:
        this.flashArrival(it.ref as FlashSale);
        return;
      case PROBE:
        this.probe(it.i);
        return;
      case BUYER_CANCEL:
      case NODE_CANCEL:
        this.orderCancel(it.ref as Checkout, it.kind === BUYER_CANCEL ? 'buyer' : 'seller');
        return;
      case RETURN:
        this.physicalUnits[it.i]! += it.q;
        this.truth(it.i);
        this.emit(it.i, 'return', it.q);
        this.replenishCheck(it.i);
        return;
      case RECEIPT:
        this.receipt(it.i);
        return;
      case HEARTBEAT:
        this.heartbeat(it.i);
        return;
      case OUTAGE_START:
        this.outageStart(it.i);
        return;
      case OUTAGE_END:
        this.outageEnd(it.i);
        return;
      case LOCAL_SALE:
        this.localSale(it.i);
        return;
      case LATE_REPORT:
        // A count since the sale already put the loss on record: reporting it now would count it twice.
        if (this.countEpoch[it.i] === it.epoch) this.emit(it.i, 'sale', it.q, true);
        return;
      case SHRINK:
        this.shrink(it.i);
        return;
      case ADJUST:
        this.adjust(it.i);
        return;
      case ROUTINE_COUNT: {
        const pairs = this.nodePairs[it.i]!;
        this.count(pairs[this.rng.int(0, pairs.length - 1)]!);
        const b = this.config.nodes[this.nodes[it.i]!.nodeType];
        this.atPoisson(pairs.length / b.countIntervalH, ROUTINE_COUNT, it.i);
        return;
      }
      case TRIGGERED_COUNT:
        this.countScheduled[it.i] = 0;
        this.count(it.i);
        return;
      case SYNC:
        this.sync(it.i);
        return;
    }
  }

  /** Initial stock, one pair per item, spread over BOOT_WINDOW_MS so the stream starts as a trickle. */
  private boot(p: number): void {
    const pair = this.world.pairs[p]!;
    this.physicalUnits[p] = pair.initialUnits;
    this.truth(p);
    this.emit(p, 'receipt', pair.initialUnits);
    const next = p + 1;
    if (next < this.world.pairs.length) {
      const t = this.config.startTimeMs + Math.floor((next * BOOT_WINDOW_MS) / this.world.pairs.length);
      this.at(t, BOOT, next);
    }
  }

  // ---- demand -------------------------------------------------------------

  private flashStart(): void {
    const c = this.config;
    for (let tries = 0; tries < FLASH_PICK_TRIES; tries++) {
      const s = this.hotSkus[this.rng.int(0, this.hotSkus.length - 1)]!;
      if (this.onFlash[s] === 1) continue;
      const untilMs =
        this.nowMs + Math.round(this.rng.uniform(c.flashMinutes[0], c.flashMinutes[1]) * MS_PER_MIN);
      const mult = this.rng.uniform(c.flashMultiplier[0], c.flashMultiplier[1]);
      const sale: FlashSale = {
        sku: s,
        untilMs,
        extraPerH:
          Math.min(c.checkoutsPerS * this.world.skus[s]!.popularity * (mult - 1), c.flashMaxExtraPerS) * 3600,
      };
      const first = this.afterPoisson(sale.extraPerH);
      if (first < untilMs) {
        this.onFlash[s] = 1;
        this.at(first, FLASH_ARRIVAL, s, sale);
      }
      break;
    }
    this.atPoisson(c.flashSalesPerHour, FLASH_START);
  }

  private flashArrival(sale: FlashSale): void {
    this.checkout(sale.sku);
    const next = this.afterPoisson(sale.extraPerH);
    if (next < sale.untilMs) this.at(next, FLASH_ARRIVAL, sale.sku, sale);
    else this.onFlash[sale.sku] = 0;
  }

  private drawQty(): number {
    const c = this.config;
    const r = this.rng.float();
    if (r < c.qtyOneShare) return 1;
    if (r < c.qtyOneShare + c.qtyTwoShare) return 2;
    return this.rng.int(3, 5);
  }

  private candidates(s: number, z: number): CandidateList {
    const key = s * this.world.zones.length + z;
    const hit = this.candCache[key];
    if (hit !== undefined) return hit;
    const zone = this.world.zones[z]!;
    const list: { p: number; eta: number; id: string; handling: number }[] = [];
    for (const p of this.skuPairs[s]!) {
      const node = this.nodes[this.pairNode[p]!]!;
      if (serves(node, zone)) {
        list.push({
          p,
          eta: etaHours(node, zone),
          id: node.nodeId,
          handling: this.handlingMs[this.pairNode[p]!]!,
        });
      }
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
    const node = this.nodes[j]!;
    const b = node.blackoutHoursUtc;
    if (b !== null) {
      const hour = Math.floor((this.nowMs % MS_PER_DAY) / MS_PER_H);
      if (b[0] <= b[1] ? hour >= b[0] && hour < b[1] : hour >= b[0] || hour < b[1]) return true;
    }
    if (node.dailyOrderCap > 0) {
      const day = Math.floor(this.nowMs / MS_PER_DAY);
      if (this.capDay[j] !== day) {
        this.capDay[j] = day;
        this.ordersToday[j] = 0;
      }
      if (this.ordersToday[j]! >= node.dailyOrderCap) return true;
    }
    return false;
  }

  private checkout(s: number): void {
    const c = this.config;
    const z = this.rng.pickCumulative(this.zoneCum);
    const qty = this.drawQty();
    const cands = this.candidates(s, z);
    // The "production" naive policy: nearest ETA first, on_hand - reserved >= qty on the delivered view.
    let promised = -1;
    for (let k = 0; k < cands.pairs.length; k++) {
      const p = cands.pairs[k]!;
      if (this.closed(this.pairNode[p]!)) continue;
      if (this.dvOnHand[p]! - this.dvReserved[p]! >= qty) {
        promised = k;
        break;
      }
    }
    const id = `c-${c.seed}-${++this.checkoutCounter}`;
    this.out.push({
      type: 'checkout',
      atMs: this.nowMs,
      checkoutId: id,
      region: this.world.region,
      buyerZone: this.world.zones[z]!,
      sku: this.world.skus[s]!.sku,
      qty,
      channel: 'checkout',
      candidates: cands.nodeIds.slice(),
      promisedNode: promised >= 0 ? cands.nodeIds[promised]! : null,
    });
    const co: Checkout = {
      id,
      sku: s,
      qty,
      atMs: this.nowMs,
      cands,
      remaining: cands.pairs.length,
      feasible: new Array<boolean>(cands.pairs.length).fill(false),
      promised,
      status: ACTIVE,
    };
    if (promised >= 0) {
      const p = cands.pairs[promised]!;
      const j = this.pairNode[p]!;
      this.promisedCount++;
      if (this.nodes[j]!.dailyOrderCap > 0) this.ordersToday[j]! += 1;
      this.emit(p, 'reservation', qty);
      this.replenishCheck(p);
      const handling = this.handlingMs[j]!;
      if (this.rng.chance(c.buyerCancelRate)) {
        this.at(this.nowMs + Math.floor(this.rng.uniform(0, handling)), BUYER_CANCEL, 0, co);
      } else if (this.rng.chance(this.world.traits[j]!.cancelRate)) {
        this.at(this.nowMs + Math.floor(this.rng.uniform(0, handling)), NODE_CANCEL, 0, co);
      }
    }
    if (cands.pairs.length === 0) this.finish(co);
    else this.openCheckouts++;
    for (let k = 0; k < cands.pairs.length; k++) this.enqueueProbe(this.pairNode[cands.pairs[k]!]!, co, k);
  }

  /**
   * Pick times at one node are checkout time + a fixed handling time, so they
   * come in checkout order: a FIFO per node and one timer for its head keep
   * the queue small (one item per node instead of one per candidate).
   */
  private enqueueProbe(j: number, co: Checkout, k: number): void {
    const fifo = this.probeFifo[j]!;
    if (fifo.head === fifo.cos.length) this.at(co.atMs + this.handlingMs[j]!, PROBE, j);
    fifo.cos.push(co);
    fifo.ks.push(k);
  }

  /** Pick time at node j: for every candidate due now, record feasibility and pick the promised one. */
  private probe(j: number): void {
    const fifo = this.probeFifo[j]!;
    const handling = this.handlingMs[j]!;
    const { cos, ks } = fifo;
    while (fifo.head < cos.length && cos[fifo.head]!.atMs + handling === this.nowMs) {
      const co = cos[fifo.head]!;
      const k = ks[fifo.head]!;
      fifo.head++;
      const p = co.cands.pairs[k]!;
      co.feasible[k] = this.physicalUnits[p]! >= co.qty;
      if (k === co.promised && co.status === ACTIVE) this.pick(co, p);
      if (--co.remaining === 0) {
        this.openCheckouts--;
        this.finish(co);
      }
    }
    if (fifo.head < cos.length) this.at(cos[fifo.head]!.atMs + handling, PROBE, j);
    if (fifo.head >= PROBE_COMPACT_AT && fifo.head * 2 >= cos.length) {
      cos.splice(0, fifo.head);
      ks.splice(0, fifo.head);
      fifo.head = 0;
    }
  }

  private pick(co: Checkout, p: number): void {
    const q = co.qty;
    if (this.physicalUnits[p]! >= q) {
      co.status = PICKED;
      this.physicalUnits[p]! -= q;
      this.truth(p);
      this.emit(p, 'sale', q);
      this.emit(p, 'release', q);
      const c = this.config;
      if (this.rng.chance(c.returnRate)) {
        const delayMs = Math.round(this.rng.uniform(c.returnDelayH[0], c.returnDelayH[1]) * MS_PER_H);
        this.at(this.nowMs + delayMs, RETURN, p, null, q);
      }
    } else {
      co.status = PICK_FAILED;
      this.emit(p, 'cancellation', q);
      // The picker found the shelf short: someone counts it soon.
      if (this.countScheduled[p] === 0) {
        this.countScheduled[p] = 1;
        const m = this.config.failedPickCountMinutes;
        this.at(this.nowMs + Math.round(this.rng.uniform(m[0], m[1]) * MS_PER_MIN), TRIGGERED_COUNT, p);
      }
    }
    this.replenishCheck(p);
  }

  private orderCancel(co: Checkout, by: CancelledBy): void {
    if (co.status !== ACTIVE) return;
    co.status = by === 'buyer' ? BUYER_CANCELLED : NODE_CANCELLED;
    const p = co.cands.pairs[co.promised]!;
    this.emit(p, 'cancellation', co.qty);
    this.replenishCheck(p);
  }

  private finish(co: Checkout): void {
    const promisedNode = co.promised >= 0 ? co.cands.nodeIds[co.promised]! : null;
    let pickSucceeded: boolean | null = null;
    let cancelledBy: CancelledBy | null = null;
    if (co.status === PICKED) pickSucceeded = true;
    else if (co.status === PICK_FAILED) pickSucceeded = false;
    else if (co.status === NODE_CANCELLED) {
      pickSucceeded = false;
      cancelledBy = 'seller';
    } else if (co.status === BUYER_CANCELLED) cancelledBy = 'buyer';
    const rec: SimOutcomeRecord = {
      type: 'outcome',
      atMs: this.nowMs,
      checkoutId: co.id,
      sku: this.world.skus[co.sku]!.sku,
      qty: co.qty,
      feasible: co.feasible,
      promisedNode,
      pickSucceeded,
      oversold: co.status === PICK_FAILED,
      cancelledBy,
    };
    this.outcomeCount++;
    this.out.push(rec);
  }

  // ---- stock processes ----------------------------------------------------

  /** The node reorders when its own idea of the position falls to the reorder point. */
  private replenishCheck(p: number): void {
    if (this.onOrder[p]! > 0 || this.draining) return;
    const j = this.pairNode[p]!;
    const node = this.nodes[j]!;
    // Sellers know their own shelf; first-party nodes trust their records (phantom stock delays reorders).
    const onHand = node.nodeType === 'seller' ? this.physicalUnits[p]! : this.emOnHand[p]!;
    const position = onHand - this.emReserved[p]!;
    const pair = this.world.pairs[p]!;
    if (position > pair.reorderPoint) return;
    this.onOrder[p] = Math.max(1, pair.orderUpTo - position);
    const lead = this.world.traits[j]!.leadTimeH;
    this.at(this.nowMs + Math.round(this.rng.uniform(lead[0], lead[1]) * MS_PER_H), RECEIPT, p);
  }

  private receipt(p: number): void {
    const arrived = this.onOrder[p]!;
    this.onOrder[p] = 0;
    this.physicalUnits[p]! += arrived;
    this.truth(p);
    let recorded = arrived;
    if (this.rng.chance(this.world.traits[this.pairNode[p]!]!.receiptScanErrorRate)) {
      const off = this.rng.int(1, SCAN_ERROR_MAX_UNITS);
      recorded = this.rng.chance(0.5) ? arrived + off : Math.max(1, arrived - off);
    }
    this.emit(p, 'receipt', recorded);
    this.replenishCheck(p);
  }

  private pickPairAt(j: number): number {
    const pairs = this.nodePairs[j]!;
    return pairs[this.rng.pickCumulative(this.nodePairCum[j]!)]!;
  }

  private localSale(j: number): void {
    const p = this.pickPairAt(j);
    const q = this.rng.chance(LOCAL_SALE_TWO_UNITS_SHARE) ? 2 : 1;
    if (this.physicalUnits[p]! >= q) {
      this.physicalUnits[p]! -= q;
      this.truth(p);
      const b = this.config.nodes[this.nodes[j]!.nodeType];
      const r = this.rng.float();
      if (r < b.localSaleUnrecordedShare) {
        // Missed scan or off-platform sale left to the next count/sync: only physical stock moves.
      } else if (r < b.localSaleUnrecordedShare + b.localSaleLateShare) {
        const delayMs = Math.round(this.rng.uniform(b.localSaleLateH[0], b.localSaleLateH[1]) * MS_PER_H);
        this.queue.push({
          atMs: this.nowMs + delayMs,
          rank: RANK_ACTION,
          order: 0,
          kind: LATE_REPORT,
          i: p,
          q,
          epoch: this.countEpoch[p]!,
          ref: null,
        });
      } else {
        this.emit(p, 'sale', q, true);
      }
      this.replenishCheck(p);
    }
    this.atPoisson(this.world.traits[j]!.localSalesPerHour, LOCAL_SALE, j);
  }

  private shrink(j: number): void {
    const p = this.pickPairAt(j);
    if (this.physicalUnits[p]! > 0) {
      this.physicalUnits[p]! -= 1;
      this.truth(p);
      this.replenishCheck(p);
    }
    this.atPoisson(this.world.traits[j]!.shrinkUnitsPerHour, SHRINK, j);
  }

  private adjust(j: number): void {
    const p = this.pickPairAt(j);
    if (this.rng.chance(ADJUSTMENT_WRITE_OFF_SHARE)) {
      const k = Math.min(this.physicalUnits[p]!, this.rng.int(1, WRITE_OFF_MAX_UNITS));
      if (k > 0) {
        this.physicalUnits[p]! -= k;
        this.truth(p);
        this.emit(p, 'adjustment', -k);
      }
    } else {
      this.physicalUnits[p]! += 1;
      this.truth(p);
      this.emit(p, 'adjustment', 1);
    }
    this.replenishCheck(p);
    this.atPoisson(this.world.traits[j]!.adjustmentsPerHour, ADJUST, j);
  }

  /** A cycle count puts the shelf on record: the absolute physical units. */
  private count(p: number): void {
    this.countEpoch[p]! += 1;
    this.emit(p, 'cycle-count', this.physicalUnits[p]!);
    this.replenishCheck(p);
  }

  private sync(j: number): void {
    for (const p of this.nodePairs[j]!) this.count(p);
    const h = this.config.nodes[this.nodes[j]!.nodeType].syncIntervalH;
    this.at(
      this.nowMs + Math.round(h * this.rng.uniform(SYNC_JITTER[0], SYNC_JITTER[1]) * MS_PER_H),
      SYNC,
      j,
    );
  }

  // ---- feeds --------------------------------------------------------------

  private heartbeat(j: number): void {
    if (this.outageUntilMs[j]! <= this.nowMs) {
      const node = this.nodes[j]!;
      this.nodeSeq[j]! += 1;
      this.dispatch(
        j,
        {
          eventId: this.eventIdPrefix + ++this.eventCounter,
          sku: HEARTBEAT_SKU,
          node: node.nodeId,
          kind: 'heartbeat',
          quantity: 0,
          sequence: this.nodeSeq[j]!,
          eventTimeMs: this.nowMs,
          source: sourceOf(node.nodeType),
        },
        -1,
      );
    }
    const c = this.config;
    const jitter = this.rng.int(-c.heartbeatJitterMs, c.heartbeatJitterMs);
    this.at(this.nowMs + c.heartbeatIntervalMs + jitter, HEARTBEAT, j);
  }

  private outageStart(j: number): void {
    const m = this.config.nodes[this.nodes[j]!.nodeType].outageMinutes;
    const until = this.nowMs + Math.round(this.rng.uniform(m[0], m[1]) * MS_PER_MIN);
    this.outageUntilMs[j] = until;
    this.at(until, OUTAGE_END, j);
  }

  private outageEnd(j: number): void {
    this.releaseHeld(j, this.nowMs);
    this.outageUntilMs[j] = 0;
    this.atPoisson(this.world.traits[j]!.outagesPerDay / 24, OUTAGE_START, j);
  }

  /** Held events reach the system together when the feed comes back, in the order they were emitted. */
  private releaseHeld(j: number, atMs: number): void {
    const h = this.held[j]!;
    for (const it of h) {
      it.atMs = atMs;
      this.queue.push(it);
    }
    this.heldCount -= h.length;
    h.length = 0;
  }

  /** Emits an event of pair p now: sequence, emitted view, then transport. */
  private emit(p: number, kind: EventKind, quantity: number, localSale = false): void {
    const j = this.pairNode[p]!;
    const node = this.nodes[j]!;
    const seq = this.emSeq[p]! + 1;
    this.emSeq[p] = seq;
    applyCounters(this.emOnHand, this.emReserved, p, kind, quantity);
    const e: InventoryEvent = {
      eventId: this.eventIdPrefix + ++this.eventCounter,
      sku: this.world.skus[this.pairSku[p]!]!.sku,
      node: node.nodeId,
      kind,
      quantity,
      sequence: seq,
      eventTimeMs: this.nowMs,
      source: sourceOf(node.nodeType),
    };
    this.dispatch(j, e, p, localSale);
  }

  /** Sends e (of pair p; -1 for heartbeats) on node j's feed: a transport delay, or held while the feed is down. */
  private dispatch(j: number, e: InventoryEvent, p: number, localSale = false): void {
    const item: Item = { atMs: 0, rank: RANK_DELIVER, order: 0, kind: DELIVER, i: p, q: 0, epoch: 0, ref: e };
    if (this.outageUntilMs[j]! > this.nowMs) {
      item.q = 1; // marks the item as held
      this.held[j]!.push(item);
      this.heldCount++;
      return;
    }
    const b = this.config.nodes[this.nodes[j]!.nodeType];
    const delay = localSale
      ? this.rng.uniform(b.localSaleDelayMs[0], b.localSaleDelayMs[1])
      : this.rng.logUniform(b.feedDelayMs[0], b.feedDelayMs[1]);
    item.atMs = this.nowMs + Math.min(SIM_MAX_DELAY_MS, Math.max(1, Math.round(delay)));
    this.queue.push(item);
  }

  /** The production consumer receives e: apply in sequence order, buffer early ones. */
  private deliver(atMs: number, p: number, e: InventoryEvent, held: boolean): void {
    this.delivered++;
    this.out.push({ type: 'event', deliverAtMs: atMs, event: e, held });
    if (p < 0) return;
    if (e.sequence !== this.dvNext[p]) {
      let pend = this.dvPending[p];
      if (pend === null || pend === undefined) {
        pend = [];
        this.dvPending[p] = pend;
      }
      let i = pend.length;
      while (i > 0 && pend[i - 1]!.sequence > e.sequence) i--;
      pend.splice(i, 0, e);
      this.dvPendingCount++;
      return;
    }
    applyCounters(this.dvOnHand, this.dvReserved, p, e.kind, e.quantity);
    this.dvNext[p] = e.sequence + 1;
    const pend = this.dvPending[p];
    if (pend === null || pend === undefined) return;
    while (pend.length > 0 && pend[0]!.sequence === this.dvNext[p]) {
      const ev = pend.shift()!;
      this.dvPendingCount--;
      applyCounters(this.dvOnHand, this.dvReserved, p, ev.kind, ev.quantity);
      this.dvNext[p] = ev.sequence + 1;
    }
    if (pend.length === 0) this.dvPending[p] = null;
  }

  private truth(p: number): void {
    if (!this.config.emitTruth) return;
    const pair = this.world.pairs[p]!;
    this.out.push({
      type: 'truth',
      atMs: this.nowMs,
      sku: pair.sku,
      node: pair.node,
      physical: this.physicalUnits[p]!,
    });
  }
}

/**
 * The meaning of an event for stock, as plain counters. Deliberately written
 * apart from the shared feature module, so tests can check one against the other.
 */
function applyCounters(
  onHand: Float64Array,
  reserved: Float64Array,
  p: number,
  kind: EventKind,
  q: number,
): void {
  switch (kind) {
    case 'receipt':
    case 'return':
    case 'adjustment':
      onHand[p]! += q;
      return;
    case 'sale':
      onHand[p]! -= q;
      return;
    case 'cycle-count':
      onHand[p] = q;
      return;
    case 'reservation':
      reserved[p]! += q;
      return;
    case 'release':
    case 'cancellation':
      reserved[p]! -= q;
      return;
    case 'heartbeat':
      return;
  }
}

function sourceOf(t: NodeType): InventoryEvent['source'] {
  return t === 'seller' ? 'third-party' : 'first-party';
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Convenience: a simulator over the resolved config (see sim-config.ts for every knob). */
export function createSimulator(input: SimConfigInput = {}): Simulator {
  return new Simulator(input);
}
