/**
 * Stock per (sku, node) pair as two books: the physical units on the shelf
 * (the ground truth only the simulator knows) and the emitted view, every
 * event the node has emitted applied in order (the node's own records,
 * what a perfect consumer would hold). Their gap is what the model learns.
 */
import type { EventKind } from '@mercato/proto/v1/inventory-event';
import type { SimKernel } from './sim-kernel.js';

export class StockLedger {
  /** Physical units per pair. */
  readonly physical: Int32Array;
  /** Emitted view per pair: on hand, reserved, last sequence emitted. */
  readonly emOnHand: Float64Array;
  readonly emReserved: Float64Array;
  readonly emSeq: Float64Array;

  constructor(private readonly k: SimKernel) {
    const P = k.world.pairs.length;
    this.physical = new Int32Array(P);
    this.emOnHand = new Float64Array(P);
    this.emReserved = new Float64Array(P);
    this.emSeq = new Float64Array(P);
  }

  /** Adds `delta` physical units to pair p (negative takes them away) and records the truth. */
  move(p: number, delta: number): void {
    this.physical[p]! += delta;
    this.truth(p);
  }

  /** Sets pair p's physical units (initial stock) and records the truth. */
  set(p: number, units: number): void {
    this.physical[p] = units;
    this.truth(p);
  }

  /** The next sequence of pair p, with the event applied to the emitted view. */
  record(p: number, kind: EventKind, quantity: number): number {
    const seq = this.emSeq[p]! + 1;
    this.emSeq[p] = seq;
    applyCounters(this.emOnHand, this.emReserved, p, kind, quantity);
    return seq;
  }

  private truth(p: number): void {
    const k = this.k;
    if (!k.config.emitTruth) return;
    const pair = k.world.pairs[p]!;
    k.out.push({
      type: 'truth',
      atMs: k.nowMs,
      sku: pair.sku,
      node: pair.node,
      physical: this.physical[p]!,
    });
  }
}

/**
 * The meaning of an event for stock, as plain counters. Deliberately written
 * apart from the shared feature module, so tests can check one against the other.
 */
export function applyCounters(
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
