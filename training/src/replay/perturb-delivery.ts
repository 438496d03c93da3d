/**
 * Makes a delivery stream worse in the ways Kafka and feeds really are:
 * every event delivered twice (at-least-once producers and consumers) and
 * part of them late (retries, slow partitions). Streaming: memory holds only
 * the events inside one jitter window.
 *
 * How late an event may come is bounded on purpose: an event is held back by
 * at most `shuffleMs` of delivery time, and events that arrive after a feed
 * outage (delivery delay above the healthy bound `healthyDelayMs`) are not
 * moved at all. A backlog released after an outage spans minutes of event
 * time; shuffling it would open sequence gaps wider than GAP_TIMEOUT_MS,
 * which the consumer skips by design. Within these bounds any consumer that
 * follows the sequence rules must end in the same state as in-order delivery.
 */
import type { InventoryEvent } from '@mercato/proto/v1/inventory-event';
import { Prng } from '../simulator/prng.js';
import { SIM_MAX_DELAY_MS } from '../simulator/sim-config.js';

/** Largest allowed jitter: with the 60 s healthy delay it keeps reordering within 120 s of event time (< the 180 s gap timeout). */
export const MAX_SHUFFLE_MS = 60_000;
/** PRNG stream of the perturbation (the simulator uses streams 1 and 2). */
const PERTURB_STREAM = 7;

export interface Delivery {
  deliverAtMs: number;
  event: InventoryEvent;
}

export interface PerturbOptions {
  /** Deliver every event a second time (the copy gets its own jitter). */
  duplicate: boolean;
  /** Largest extra delay of a moved event (ms of delivery time); 0 = keep the order. */
  shuffleMs: number;
  /** Share of events moved, in [0, 1]. */
  shuffleShare: number;
  seed: number;
  /** Events delivered later than this after their event time came from an outage backlog and stay in place. */
  healthyDelayMs?: number;
}

interface Slot {
  keyMs: number;
  order: number;
  event: InventoryEvent;
}

export function* perturbDelivery(input: Iterable<Delivery>, opts: PerturbOptions): Generator<InventoryEvent> {
  if (!opts.duplicate && (opts.shuffleMs <= 0 || opts.shuffleShare <= 0)) {
    for (const d of input) yield d.event;
    return;
  }
  const rng = new Prng(opts.seed, PERTURB_STREAM);
  const healthy = opts.healthyDelayMs ?? SIM_MAX_DELAY_MS;
  const heap = new SlotHeap();
  let order = 0;
  const jitter = (d: Delivery): number => {
    if (opts.shuffleMs <= 0 || d.deliverAtMs - d.event.eventTimeMs > healthy) return 0;
    return rng.float() < opts.shuffleShare ? Math.floor(rng.float() * opts.shuffleMs) : 0;
  };
  for (const d of input) {
    // Later inputs are delivered no earlier than this one, so anything keyed up to now is final.
    while (heap.size > 0 && heap.peek()!.keyMs <= d.deliverAtMs) yield heap.pop()!.event;
    heap.push({ keyMs: d.deliverAtMs + jitter(d), order: order++, event: d.event });
    if (opts.duplicate) heap.push({ keyMs: d.deliverAtMs + jitter(d), order: order++, event: d.event });
  }
  while (heap.size > 0) yield heap.pop()!.event;
}

/** Min-heap on (keyMs, order): equal keys keep input order. */
class SlotHeap {
  private readonly h: Slot[] = [];

  get size(): number {
    return this.h.length;
  }

  peek(): Slot | undefined {
    return this.h[0];
  }

  push(s: Slot): void {
    const h = this.h;
    let i = h.length;
    h.push(s);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(s, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = s;
  }

  pop(): Slot | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && less(h[r]!, h[l]!) ? r : l;
      if (!less(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }
}

function less(a: Slot, b: Slot): boolean {
  return a.keyMs !== b.keyMs ? a.keyMs < b.keyMs : a.order < b.order;
}
