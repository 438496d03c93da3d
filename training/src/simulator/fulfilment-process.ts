/**
 * Fulfilment: what happens to a checkout after its decision. A promised
 * order reserves stock and may be cancelled before pick by the buyer or by
 * the node; at each candidate's pick time (checkout + the node's handling
 * time) the physical shelf says whether the node could have shipped, which
 * is the label; the promised node picks (sale + release, sometimes a return
 * days later) or finds the shelf short (cancellation, and a count is
 * requested). Once every candidate's pick time has passed, the outcome
 * record is yielded. A promise with a decision id (external routing) also
 * yields its order outcome the moment it happens, as the order service
 * would publish it.
 */
import type { OutcomeStatus } from '@mercato/proto/v1/order-outcome';
import type { FeedProcess } from './feed-process.js';
import { type CheckoutOrder, ITEM, ORDER } from './sim-item.js';
import { MS_PER_H, type SimKernel } from './sim-kernel.js';
import type { CancelledBy, SimOutcomeRecord } from './sim-record.js';
import type { StockLedger } from './stock-ledger.js';
import type { SupplyProcess } from './supply-process.js';

/** A node's probe FIFO drops its consumed head once this many entries are consumed (and at least half). */
const PROBE_COMPACT_AT = 1024;

export class FulfilmentProcess {
  /** Checkouts still waiting for a candidate's pick time. */
  openCheckouts = 0;
  outcomeCount = 0;
  /** Pending pick-time probes per node, in due order (see enqueueProbe). */
  private readonly probeFifo: { cos: CheckoutOrder[]; ks: number[]; head: number }[];

  constructor(
    private readonly k: SimKernel,
    private readonly ledger: StockLedger,
    private readonly feeds: FeedProcess,
    private readonly supply: SupplyProcess,
  ) {
    this.probeFifo = k.world.nodes.map(() => ({ cos: [], ks: [], head: 0 }));
  }

  /**
   * Takes a decided checkout: a promise reserves stock at its node and may
   * draw a cancellation before pick; every candidate gets a pick-time probe.
   */
  open(co: CheckoutOrder): void {
    const k = this.k;
    const { pairs } = co.cands;
    if (co.promised >= 0) {
      const p = pairs[co.promised]!;
      const j = k.index.pairNode[p]!;
      co.freeUnitsAtPromise = this.ledger.physical[p]! - this.ledger.emReserved[p]!;
      this.feeds.emit(p, 'reservation', co.qty);
      this.supply.replenishCheck(p);
      const handling = k.index.handlingMs[j]!;
      if (k.rng.chance(k.config.buyerCancelRate)) {
        k.at(k.nowMs + Math.floor(k.rng.uniform(0, handling)), ITEM.BUYER_CANCEL, 0, co);
      } else if (k.rng.chance(k.world.traits[j]!.cancelRate)) {
        k.at(k.nowMs + Math.floor(k.rng.uniform(0, handling)), ITEM.NODE_CANCEL, 0, co);
      }
    }
    if (pairs.length === 0) this.finish(co);
    else this.openCheckouts++;
    for (let n = 0; n < pairs.length; n++) this.enqueueProbe(k.index.pairNode[pairs[n]!]!, co, n);
  }

  /** Pick time at node j: for every candidate due now, record feasibility and pick the promised one. */
  probe(j: number): void {
    const k = this.k;
    const fifo = this.probeFifo[j]!;
    const handling = k.index.handlingMs[j]!;
    const { cos, ks } = fifo;
    while (fifo.head < cos.length && cos[fifo.head]!.atMs + handling === k.nowMs) {
      const co = cos[fifo.head]!;
      const n = ks[fifo.head]!;
      fifo.head++;
      const p = co.cands.pairs[n]!;
      co.feasible[n] = this.ledger.physical[p]! >= co.qty;
      if (n === co.promised && co.status === ORDER.ACTIVE) this.pick(co, p);
      if (--co.remaining === 0) {
        this.openCheckouts--;
        this.finish(co);
      }
    }
    if (fifo.head < cos.length) k.at(cos[fifo.head]!.atMs + handling, ITEM.PROBE, j);
    if (fifo.head >= PROBE_COMPACT_AT && fifo.head * 2 >= cos.length) {
      cos.splice(0, fifo.head);
      ks.splice(0, fifo.head);
      fifo.head = 0;
    }
  }

  /** A promised order cancelled before its pick: the reservation is released. */
  cancel(co: CheckoutOrder, by: CancelledBy): void {
    if (co.status !== ORDER.ACTIVE) return;
    co.status = by === 'buyer' ? ORDER.BUYER_CANCELLED : ORDER.NODE_CANCELLED;
    this.reportOutcome(co, by === 'buyer' ? 'cancelled-buyer' : 'cancelled-seller', 0);
    const p = co.cands.pairs[co.promised]!;
    this.feeds.emit(p, 'cancellation', co.qty);
    this.supply.replenishCheck(p);
  }

  /** Shipped units come back to pair p's shelf. */
  returned(p: number, units: number): void {
    this.ledger.move(p, units);
    this.feeds.emit(p, 'return', units);
    this.supply.replenishCheck(p);
  }

  /** The world stops: open checkouts are dropped without an outcome. */
  clear(): void {
    for (const fifo of this.probeFifo) {
      fifo.cos.length = 0;
      fifo.ks.length = 0;
      fifo.head = 0;
    }
    this.openCheckouts = 0;
  }

  /**
   * Pick times at one node are checkout time + a fixed handling time, so they
   * come in checkout order: a FIFO per node and one timer for its head keep
   * the queue small (one item per node instead of one per candidate).
   */
  private enqueueProbe(j: number, co: CheckoutOrder, n: number): void {
    const fifo = this.probeFifo[j]!;
    if (fifo.head === fifo.cos.length) this.k.at(co.atMs + this.k.index.handlingMs[j]!, ITEM.PROBE, j);
    fifo.cos.push(co);
    fifo.ks.push(n);
  }

  private pick(co: CheckoutOrder, p: number): void {
    const k = this.k;
    const q = co.qty;
    if (this.ledger.physical[p]! >= q) {
      co.status = ORDER.PICKED;
      this.reportOutcome(co, 'fulfilled', q);
      this.ledger.move(p, -q);
      this.feeds.emit(p, 'sale', q);
      this.feeds.emit(p, 'release', q);
      const c = k.config;
      if (k.rng.chance(c.returnRate)) {
        const delayMs = Math.round(k.rng.uniform(c.returnDelayH[0], c.returnDelayH[1]) * MS_PER_H);
        k.at(k.nowMs + delayMs, ITEM.RETURN, p, null, q);
      }
    } else {
      co.status = ORDER.PICK_FAILED;
      this.reportOutcome(co, 'short-picked', 0);
      this.feeds.emit(p, 'cancellation', q);
      this.supply.requestCount(p);
    }
    this.supply.replenishCheck(p);
  }

  private finish(co: CheckoutOrder): void {
    const k = this.k;
    const promisedNode = co.promised >= 0 ? co.cands.nodeIds[co.promised]! : null;
    let pickSucceeded: boolean | null = null;
    let cancelledBy: CancelledBy | null = null;
    if (co.status === ORDER.PICKED) pickSucceeded = true;
    else if (co.status === ORDER.PICK_FAILED) pickSucceeded = false;
    else if (co.status === ORDER.NODE_CANCELLED) {
      pickSucceeded = false;
      cancelledBy = 'seller';
    } else if (co.status === ORDER.BUYER_CANCELLED) cancelledBy = 'buyer';
    const rec: SimOutcomeRecord = {
      type: 'outcome',
      atMs: k.nowMs,
      checkoutId: co.id,
      sku: k.world.skus[co.sku]!.sku,
      qty: co.qty,
      feasible: co.feasible,
      promisedNode,
      pickSucceeded,
      oversold: co.status === ORDER.PICK_FAILED,
      cancelledBy,
    };
    // Only set when present: the default stream's records keep their exact bytes.
    if (co.decisionId !== null) rec.decisionId = co.decisionId;
    this.outcomeCount++;
    k.out.push(rec);
  }

  /** The promise's order outcome, now (only for promises with a decision id: see CheckoutOrder.decisionId). */
  private reportOutcome(co: CheckoutOrder, status: OutcomeStatus, unitsPicked: number): void {
    if (co.decisionId === null) return;
    const k = this.k;
    const p = co.cands.pairs[co.promised]!;
    k.out.push({
      type: 'order-outcome',
      atMs: k.nowMs,
      checkoutId: co.id,
      decisionId: co.decisionId,
      region: k.world.region,
      sku: k.world.skus[co.sku]!.sku,
      node: co.cands.nodeIds[co.promised]!,
      qty: co.qty,
      status,
      unitsPicked,
      promisedAtMs: co.atMs,
      dueAtMs: co.atMs + k.index.handlingMs[k.index.pairNode[p]!]!,
      freeUnitsAtPromise: co.freeUnitsAtPromise,
    });
  }
}
