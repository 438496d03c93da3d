/**
 * The feeds: how emitted events travel from a node to the system. Each event
 * gets its pair's next sequence and a transport delay drawn per node type
 * (so deliveries arrive out of order), or waits while its node's feed is in
 * an outage and is delivered with the backlog when the feed comes back.
 * Nodes send heartbeats while their feed is up. On delivery the feeds keep
 * the delivered view: what the production consumer has applied by now, in
 * sequence order, which is what naive routing decides on.
 *
 * Besides the random outages each node draws, a scenario may force one
 * (Simulator.forceOutage): the same silence (events held, no heartbeats,
 * the backlog delivered when it ends), kept apart from the random outage so
 * neither's end releases what the other still holds, and drawing nothing
 * from the PRNG: a world without forced outages runs exactly as before.
 */

import type { NodeType } from '@mercato/proto/v1/decision';
import { type EventKind, HEARTBEAT_SKU, type InventoryEvent } from '@mercato/proto/v1/inventory-event';
import { SIM_MAX_DELAY_MS } from './sim-config.js';
import { ITEM, RANK_DELIVER, type SimItem } from './sim-item.js';
import { MS_PER_MIN, type SimKernel } from './sim-kernel.js';
import { applyCounters, type StockLedger } from './stock-ledger.js';

export class FeedProcess {
  /** Events emitted so far (event ids are `e-<seed>-<n>`). */
  eventCounter = 0;
  delivered = 0;
  /** Events held back by outages, all nodes. */
  heldCount = 0;
  /** Early deliveries buffered until the gap before them closes, all pairs. */
  dvPendingCount = 0;
  /** Delivered view per pair: on hand, reserved, next sequence expected. */
  readonly dvOnHand: Float64Array;
  readonly dvReserved: Float64Array;
  readonly dvNext: Float64Array;
  private readonly dvPending: (InventoryEvent[] | null)[];
  private readonly eventIdPrefix: string;
  /** Per node: heartbeat sequence, feed outage end (0 = feed up), events held by the outage. */
  private readonly nodeSeq: Float64Array;
  private readonly outageUntilMs: Float64Array;
  /** Per node: end of a forced (scenario) outage, 0 = none. */
  private readonly forcedUntilMs: Float64Array;
  private readonly held: SimItem[][];

  constructor(
    private readonly k: SimKernel,
    private readonly ledger: StockLedger,
  ) {
    const P = k.world.pairs.length;
    const N = k.world.nodes.length;
    this.eventIdPrefix = `e-${k.config.seed}-`;
    this.dvOnHand = new Float64Array(P);
    this.dvReserved = new Float64Array(P);
    this.dvNext = new Float64Array(P).fill(1);
    this.dvPending = new Array<InventoryEvent[] | null>(P).fill(null);
    this.nodeSeq = new Float64Array(N);
    this.outageUntilMs = new Float64Array(N);
    this.forcedUntilMs = new Float64Array(N);
    this.held = k.world.nodes.map(() => []);
  }

  /** First heartbeat (spread over one interval) and first outage of node j. */
  startNode(j: number): void {
    const k = this.k;
    k.at(k.config.startTimeMs + k.rng.int(0, k.config.heartbeatIntervalMs - 1), ITEM.HEARTBEAT, j);
    k.atPoisson(k.world.traits[j]!.outagesPerDay / 24, ITEM.OUTAGE_START, j);
  }

  /** Emits an event of pair p now: sequence, emitted view, then transport. */
  emit(p: number, kind: EventKind, quantity: number, localSale = false): void {
    const k = this.k;
    const j = k.index.pairNode[p]!;
    const node = k.index.nodes[j]!;
    const seq = this.ledger.record(p, kind, quantity);
    const e: InventoryEvent = {
      eventId: this.eventIdPrefix + ++this.eventCounter,
      sku: k.world.skus[k.index.pairSku[p]!]!.sku,
      node: node.nodeId,
      kind,
      quantity,
      sequence: seq,
      eventTimeMs: k.nowMs,
      source: sourceOf(node.nodeType),
    };
    this.dispatch(j, e, p, localSale);
  }

  heartbeat(j: number): void {
    const k = this.k;
    if (!this.feedDown(j)) {
      const node = k.index.nodes[j]!;
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
          eventTimeMs: k.nowMs,
          source: sourceOf(node.nodeType),
        },
        -1,
      );
    }
    const c = k.config;
    const jitter = k.rng.int(-c.heartbeatJitterMs, c.heartbeatJitterMs);
    k.at(k.nowMs + c.heartbeatIntervalMs + jitter, ITEM.HEARTBEAT, j);
  }

  outageStart(j: number): void {
    const k = this.k;
    const m = k.config.nodes[k.index.nodes[j]!.nodeType].outageMinutes;
    const until = k.nowMs + Math.round(k.rng.uniform(m[0], m[1]) * MS_PER_MIN);
    this.outageUntilMs[j] = until;
    k.at(until, ITEM.OUTAGE_END, j);
  }

  outageEnd(j: number): void {
    const k = this.k;
    // A forced outage still running keeps the backlog: it is released when that one ends.
    if (this.forcedUntilMs[j]! <= k.nowMs) this.releaseHeld(j, k.nowMs);
    this.outageUntilMs[j] = 0;
    k.atPoisson(k.world.traits[j]!.outagesPerDay / 24, ITEM.OUTAGE_START, j);
  }

  /** A forced outage of node j begins now and lasts until untilMs (overlapping ones: the later end wins). */
  forcedOutageStart(j: number, untilMs: number): void {
    if (untilMs > this.forcedUntilMs[j]!) this.forcedUntilMs[j] = untilMs;
  }

  /** A forced outage of node j is due to end now: the feed comes back unless another forced or random one runs. */
  forcedOutageEnd(j: number): void {
    const now = this.k.nowMs;
    if (this.forcedUntilMs[j]! > now) return;
    this.forcedUntilMs[j] = 0;
    if (this.outageUntilMs[j]! <= now) this.releaseHeld(j, now);
  }

  /** The world stops: every held event is delivered at its outage's end (the later one, when forced). */
  releaseAllHeld(): void {
    for (let j = 0; j < this.held.length; j++) {
      this.releaseHeld(j, Math.max(this.outageUntilMs[j]!, this.forcedUntilMs[j]!));
    }
  }

  /** The production consumer receives an event: apply in sequence order, buffer early ones. */
  deliver(it: SimItem): void {
    const e = it.ref as InventoryEvent;
    const p = it.i;
    this.delivered++;
    this.k.out.push({ type: 'event', deliverAtMs: it.atMs, event: e, held: it.q === 1 });
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

  /** Held events reach the system together when the feed comes back, in the order they were emitted. */
  private releaseHeld(j: number, atMs: number): void {
    const h = this.held[j]!;
    for (const it of h) {
      it.atMs = atMs;
      this.k.queue.push(it);
    }
    this.heldCount -= h.length;
    h.length = 0;
  }

  /** Sends e (of pair p; -1 for heartbeats) on node j's feed: a transport delay, or held while the feed is down. */
  private dispatch(j: number, e: InventoryEvent, p: number, localSale = false): void {
    const k = this.k;
    const item: SimItem = {
      atMs: 0,
      rank: RANK_DELIVER,
      order: 0,
      kind: ITEM.DELIVER,
      i: p,
      q: 0,
      epoch: 0,
      ref: e,
    };
    if (this.feedDown(j)) {
      item.q = 1; // marks the item as held
      this.held[j]!.push(item);
      this.heldCount++;
      return;
    }
    const b = k.config.nodes[k.index.nodes[j]!.nodeType];
    const delay = localSale
      ? k.rng.uniform(b.localSaleDelayMs[0], b.localSaleDelayMs[1])
      : k.rng.logUniform(b.feedDelayMs[0], b.feedDelayMs[1]);
    item.atMs = k.nowMs + Math.min(SIM_MAX_DELAY_MS, Math.max(1, Math.round(delay)));
    k.queue.push(item);
  }

  /** Node j's feed is silent now: a random outage or a forced one. */
  private feedDown(j: number): boolean {
    const now = this.k.nowMs;
    return this.outageUntilMs[j]! > now || this.forcedUntilMs[j]! > now;
  }
}

function sourceOf(t: NodeType): InventoryEvent['source'] {
  return t === 'seller' ? 'third-party' : 'first-party';
}
