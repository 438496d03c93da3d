/**
 * The seeded, deterministic, streaming world simulator. One discrete-event
 * loop moves the physical world and emits inventory events; each event is
 * delivered after a transport delay drawn per node type (or held until a
 * feed outage ends). `run()` yields records in delivery order, so a consumer
 * sees exactly what the production system would see, when it would see it.
 *
 * The world's processes each live in their own module and share one kernel
 * (config, world, PRNG stream, event queue, clock; sim-kernel.ts):
 *
 * - demand (demand-process.ts): marketplace checkouts by Zipf popularity,
 *   flash sales, naive-ATP promises, off-platform local sales;
 * - fulfilment (fulfilment-process.ts): reservations, cancellations, picks
 *   at each candidate's pick time, returns, outcomes;
 * - supply (supply-process.ts): boot stock, replenishment, shrink,
 *   adjustments, cycle counts and syncs;
 * - feeds (feed-process.ts): sequencing, transport delays, outages,
 *   heartbeats, and the delivered view naive routing decides on.
 *
 * This class wires them: it schedules their first actions, hands each
 * queue item to its process, and stops the world at the configured limit.
 *
 * Two ways to drive it: `run()` streams the whole world as fast as it goes
 * (datasets, replays); `advance(untilMs)` moves it step by step to a given
 * simulated time (the closed-loop world, which paces it against a clock and
 * answers its checkouts through `resolveCheckout` under external routing,
 * see external-routing.ts).
 *
 * Memory: only what is scheduled is held (a timer per node process, a probe
 * entry per candidate of each open checkout, events in flight or held by an
 * outage, pending returns, replenishments and late reports): each is a rate
 * times a horizon fixed by the config (handling time, delay bound, outage
 * length, return delay), so it is bounded by world size, not run length.
 */
import { AtpError } from '@mercato/platform/errors';
import { ERR } from '../errors.js';
import { buildWorld, type World } from './build-world.js';
import { DemandProcess } from './demand-process.js';
import { type ExternalPromise, ExternalRouting } from './external-routing.js';
import { FeedProcess } from './feed-process.js';
import { FulfilmentProcess } from './fulfilment-process.js';
import { type ForcedFlashSale, type ForcedOutage, ScenarioHooks } from './scenario-hooks.js';
import { resolveSimConfig, type SimConfig, type SimConfigInput } from './sim-config.js';
import { type CheckoutOrder, type FlashSale, ITEM, type SimItem } from './sim-item.js';
import { SimKernel } from './sim-kernel.js';
import type { SimRecord } from './sim-record.js';
import { StockLedger } from './stock-ledger.js';
import { BOOT_WINDOW_MS, SupplyProcess } from './supply-process.js';

export type { ExternalPromise } from './external-routing.js';
export type { ForcedFlashSale, ForcedOutage } from './scenario-hooks.js';
export { BOOT_WINDOW_MS } from './supply-process.js';

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
  /** External checkouts that got no answer in time (counted as not promised). */
  unanswered: number;
  outcomes: number;
  heldEvents: number;
  pendingItems: number;
}

export class Simulator {
  readonly config: SimConfig;
  readonly world: World;
  private readonly k: SimKernel;
  private readonly ledger: StockLedger;
  private readonly feeds: FeedProcess;
  private readonly supply: SupplyProcess;
  private readonly fulfilment: FulfilmentProcess;
  private readonly demand: DemandProcess;
  private readonly external: ExternalRouting;
  private readonly hooks: ScenarioHooks;
  /** The latest time advance() was asked to reach: hooks may not start at or before it. */
  private advancedToMs = Number.NEGATIVE_INFINITY;
  /** Simulated time at which the world stops (durationMs), Infinity without a limit. */
  private readonly endMs: number;
  /** How the world is being driven: not yet, by run() (once), or by advance() (repeatedly). */
  private mode: 'idle' | 'run' | 'advance' = 'idle';

  constructor(input: SimConfigInput | SimConfig = {}) {
    this.config = resolveSimConfig(input);
    this.world = buildWorld(this.config);
    this.k = new SimKernel(this.config, this.world);
    this.ledger = new StockLedger(this.k);
    this.feeds = new FeedProcess(this.k, this.ledger);
    this.supply = new SupplyProcess(this.k, this.ledger, this.feeds);
    this.fulfilment = new FulfilmentProcess(this.k, this.ledger, this.feeds, this.supply);
    this.external = new ExternalRouting(this.k, this.fulfilment);
    this.demand = new DemandProcess(
      this.k,
      this.ledger,
      this.feeds,
      this.supply,
      this.fulfilment,
      this.external,
    );
    this.hooks = new ScenarioHooks(this.k);
    const c = this.config;
    this.endMs = c.durationMs > 0 ? c.startTimeMs + c.durationMs : Number.POSITIVE_INFINITY;
    this.scheduleInitial();
  }

  /**
   * Yields every record in delivery order. Call once. Without maxEvents or
   * durationMs it never ends; with them the world stops after the action that
   * reached the limit, and every event already emitted is still delivered.
   */
  *run(): Generator<SimRecord, void, undefined> {
    if (this.mode !== 'idle') {
      throw new AtpError(
        ERR.SIM_ALREADY_RUN,
        'Simulator.run() may be called only once, and not after advance()',
      );
    }
    this.mode = 'run';
    const out = this.k.out;
    while (this.step()) {
      for (let i = 0; i < out.length; i++) yield out[i]!;
      out.length = 0;
    }
  }

  /**
   * Moves the world to simulated time untilMs: processes every item due at
   * or before it and returns their records in order (possibly none). Call it
   * with growing times; not after run(). Items due later stay scheduled, so
   * an answer given in between (resolveCheckout) takes effect in time order.
   */
  advance(untilMs: number): SimRecord[] {
    if (this.mode === 'run')
      throw new AtpError(ERR.SIM_ALREADY_RUN, 'Simulator.advance() cannot follow run()');
    this.mode = 'advance';
    if (untilMs > this.advancedToMs) this.advancedToMs = untilMs;
    const k = this.k;
    const records: SimRecord[] = [];
    for (;;) {
      const next = k.queue.peek();
      if (next === undefined || next.atMs > untilMs) break;
      this.step();
      for (let i = 0; i < k.out.length; i++) records.push(k.out[i]!);
      k.out.length = 0;
    }
    return records;
  }

  /** Simulated time of the next scheduled item (Infinity when nothing is left). */
  nextDueMs(): number {
    return this.k.queue.peek()?.atMs ?? Number.POSITIVE_INFINITY;
  }

  /** Whether a checkout at atMs is routed externally (yielded undecided, see resolveCheckout). */
  isExternal(atMs: number): boolean {
    return this.external.isExternal(atMs);
  }

  /**
   * The external answer to checkout `checkoutId`, given at simulated time
   * atMs (>= the checkout's time; effects apply at max(atMs, now)): a
   * promise at one of its candidates under a decision id, or null for a
   * denial. Returns false when the checkout is not waiting (unknown,
   * answered, timed out): the answer is ignored. Throws ATP_ERR_SIM_RESOLVE
   * when the node is not a candidate.
   */
  resolveCheckout(checkoutId: string, promise: ExternalPromise | null, atMs: number): boolean {
    return this.external.resolve(checkoutId, promise, atMs);
  }

  /**
   * Scenario hook: `sku`'s marketplace demand times `multiplier` from fromMs
   * (default: the simulator's present) until untilMs, as an extra checkout
   * stream beside the random flash sales (not capped by flashMaxExtraPerS:
   * the scenario asks for exactly this demand). Throws ATP_ERR_SIM_HOOK on an
   * unknown SKU, a multiplier below 1, or a window that is empty or starts
   * in the past. See scenario-hooks.ts.
   */
  forceFlashSale(sku: string, multiplier: number, untilMs: number, fromMs?: number): ForcedFlashSale {
    const earliest = this.earliestHookMs();
    return this.hooks.flashSale(sku, multiplier, fromMs ?? earliest, untilMs, earliest);
  }

  /**
   * Scenario hook: the feeds of `nodeIds` go silent from fromMs until
   * untilMs: no event delivered, no heartbeat; what they emit meanwhile is
   * delivered when the outage ends, in emission order (as random outages
   * do; one overlapping a random outage ends with the later of the two).
   * Throws ATP_ERR_SIM_HOOK on an unknown node or a bad window.
   */
  forceOutage(nodeIds: readonly string[], fromMs: number, untilMs: number): ForcedOutage {
    return this.hooks.outage(nodeIds, fromMs, untilMs, this.earliestHookMs());
  }

  /** Every scenario hook applied so far, in call order. */
  forcedHooks(): { flashSales: readonly ForcedFlashSale[]; outages: readonly ForcedOutage[] } {
    return { flashSales: this.hooks.flashSales, outages: this.hooks.outages };
  }

  /**
   * No new marketplace checkouts from now on; everything else continues, so
   * open orders reach their outcomes (the closed-loop world's drain).
   */
  stopCheckouts(): void {
    this.demand.stopCheckouts();
  }

  /** Physical units of a pair at the current point of the stream (0 when not stocked there). */
  physical(sku: string, node: string): number {
    const p = this.k.index.pairIndex.get(`${sku}|${node}`);
    return p === undefined ? 0 : this.ledger.physical[p]!;
  }

  /** Every pair with at least one emitted event, keyed `sku|node` (the FeatureState pair key). */
  systemView(): Map<string, SystemViewEntry> {
    const view = new Map<string, SystemViewEntry>();
    const w = this.world;
    const l = this.ledger;
    for (let p = 0; p < w.pairs.length; p++) {
      if (l.emSeq[p] === 0) continue;
      const pair = w.pairs[p]!;
      view.set(`${pair.sku}|${pair.node}`, {
        sku: pair.sku,
        node: pair.node,
        onHand: l.emOnHand[p]!,
        reserved: l.emReserved[p]!,
        lastSequence: l.emSeq[p]!,
      });
    }
    return view;
  }

  /** The view naive routing used at this point: delivered events applied in sequence order. */
  routingView(
    sku: string,
    node: string,
  ): { onHand: number; reserved: number; nextSequence: number } | undefined {
    const p = this.k.index.pairIndex.get(`${sku}|${node}`);
    if (p === undefined) return undefined;
    const f = this.feeds;
    return { onHand: f.dvOnHand[p]!, reserved: f.dvReserved[p]!, nextSequence: f.dvNext[p]! };
  }

  /**
   * Items waiting inside the simulator: scheduled items, checkouts awaiting a
   * pick time, events held by outages, early events buffered for routing.
   */
  pendingSize(): number {
    return (
      this.k.queue.size +
      this.fulfilment.openCheckouts +
      this.feeds.heldCount +
      this.feeds.dvPendingCount +
      this.external.pendingCount
    );
  }

  stats(): SimStats {
    return {
      nowMs: this.k.nowMs,
      eventsEmitted: this.feeds.eventCounter,
      eventsDelivered: this.feeds.delivered,
      checkouts: this.demand.checkoutCounter,
      promised: this.demand.promisedCount + this.external.promisedCount,
      unanswered: this.external.timedOutCount,
      outcomes: this.fulfilment.outcomeCount,
      heldEvents: this.feeds.heldCount,
      pendingItems: this.pendingSize(),
    };
  }

  /** The earliest time a hook may start: never before what the simulator has processed or been asked to reach. */
  private earliestHookMs(): number {
    return Math.max(this.k.nowMs, this.advancedToMs + 1);
  }

  /**
   * First actions of every process. The order is part of the stream: each
   * schedule draws from the one PRNG, so it must never change.
   */
  private scheduleInitial(): void {
    const k = this.k;
    const start = this.config.startTimeMs;
    this.supply.start();
    // Demand and node processes start once the boot stock is in.
    k.nowMs = start + BOOT_WINDOW_MS;
    this.demand.start();
    for (let j = 0; j < this.world.nodes.length; j++) {
      this.feeds.startNode(j);
      if (k.index.nodePairs[j]!.length === 0) continue;
      this.demand.startNode(j);
      this.supply.startNode(j);
    }
    k.nowMs = start;
  }

  /**
   * Pops and processes the next item; false when nothing is left. Its
   * records are left in the kernel's `out` for the caller to take.
   */
  private step(): boolean {
    const k = this.k;
    const it = k.queue.pop();
    if (it === undefined) return false;
    if (it.kind !== ITEM.DELIVER) {
      if (k.draining) return true;
      if (it.atMs >= this.endMs) {
        this.beginDrain();
        return true;
      }
    }
    k.nowMs = it.atMs;
    this.process(it);
    const max = this.config.maxEvents;
    if (!k.draining && max > 0 && this.feeds.eventCounter >= max) this.beginDrain();
    return true;
  }

  /**
   * The world stops: drop every scheduled action and every open checkout (it
   * gets no outcome), release held events at their outage end, and keep
   * delivering what was emitted.
   */
  private beginDrain(): void {
    this.k.draining = true;
    this.feeds.releaseAllHeld();
    this.k.queue.retain((it) => it.kind === ITEM.DELIVER);
    this.fulfilment.clear();
    this.external.clear();
  }

  /** Hands one due item to the process it belongs to. */
  private process(it: SimItem): void {
    switch (it.kind) {
      case ITEM.DELIVER:
        this.feeds.deliver(it);
        return;
      case ITEM.HEARTBEAT:
        this.feeds.heartbeat(it.i);
        return;
      case ITEM.OUTAGE_START:
        this.feeds.outageStart(it.i);
        return;
      case ITEM.OUTAGE_END:
        this.feeds.outageEnd(it.i);
        return;
      case ITEM.ARRIVAL:
        this.demand.arrival();
        return;
      case ITEM.FLASH_START:
        this.demand.flashStart();
        return;
      case ITEM.FLASH_ARRIVAL:
        this.demand.flashArrival(it.ref as FlashSale);
        return;
      case ITEM.LOCAL_SALE:
        this.demand.localSale(it.i);
        return;
      case ITEM.LATE_REPORT:
        this.demand.lateReport(it.i, it.q, it.epoch);
        return;
      case ITEM.PROBE:
        this.fulfilment.probe(it.i);
        return;
      case ITEM.BUYER_CANCEL:
        this.fulfilment.cancel(it.ref as CheckoutOrder, 'buyer');
        return;
      case ITEM.NODE_CANCEL:
        this.fulfilment.cancel(it.ref as CheckoutOrder, 'seller');
        return;
      case ITEM.RETURN:
        this.fulfilment.returned(it.i, it.q);
        return;
      case ITEM.BOOT:
        this.supply.boot(it.i);
        return;
      case ITEM.RECEIPT:
        this.supply.receipt(it.i);
        return;
      case ITEM.SHRINK:
        this.supply.shrink(it.i);
        return;
      case ITEM.ADJUST:
        this.supply.adjust(it.i);
        return;
      case ITEM.ROUTINE_COUNT:
        this.supply.routineCount(it.i);
        return;
      case ITEM.TRIGGERED_COUNT:
        this.supply.triggeredCount(it.i);
        return;
      case ITEM.SYNC:
        this.supply.sync(it.i);
        return;
      case ITEM.RESOLVE:
        this.external.apply(it.ref as CheckoutOrder);
        return;
      case ITEM.RESOLVE_TIMEOUT:
        this.external.timeout(it.ref as CheckoutOrder);
        return;
      case ITEM.FORCED_FLASH_START:
        this.demand.forcedFlashStart(it.ref as FlashSale);
        return;
      case ITEM.FORCED_OUTAGE_START:
        this.feeds.forcedOutageStart(it.i, it.epoch);
        return;
      case ITEM.FORCED_OUTAGE_END:
        this.feeds.forcedOutageEnd(it.i);
        return;
    }
  }
}

/** Convenience: a simulator over the resolved config (see sim-config.ts for every knob). */
export function createSimulator(input: SimConfigInput = {}): Simulator {
  return new Simulator(input);
}
