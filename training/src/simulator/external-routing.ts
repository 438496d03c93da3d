/**
 * External routing: checkouts decided outside the simulator (the closed-loop
 * world's data plane). A checkout made while routing is external waits here,
 * undecided and without any effect on the world, until its answer or its
 * timeout. Either way it then opens in fulfilment at the answer's time: a
 * promise reserves through the node's feed, may be cancelled, and is picked
 * handling hours after the answer; a denial (or no answer in time) still
 * gets its ground truth, each candidate's feasibility at its pick time,
 * which is what counts false denials.
 *
 * An answer takes effect through the event queue at its time, so answers
 * interleave with the world's own actions in time order, and the run stays
 * a pure function of the config and the sequence of (answer, time) calls.
 *
 * Memory: only unanswered checkouts are held, each at most resolveTimeoutMs
 * of simulated time (one timeout item each in the queue).
 */
import { AtpError } from '@mercato/platform/errors';
import { ERR } from '../errors.js';
import type { FulfilmentProcess } from './fulfilment-process.js';
import { type CheckoutOrder, ITEM, ORDER } from './sim-item.js';
import type { SimKernel } from './sim-kernel.js';

/** What the data plane answered: promise this node, under this decision id. */
export interface ExternalPromise {
  node: string;
  decisionId: string;
}

export class ExternalRouting {
  /** Answers that promised (applied so far). */
  promisedCount = 0;
  /** Checkouts that got no answer within resolveTimeoutMs (each counts as not promised). */
  timedOutCount = 0;
  /** Checkouts at or after this simulated time are routed externally (Infinity: never). */
  readonly fromMs: number;
  private readonly pending = new Map<string, CheckoutOrder>();

  constructor(
    private readonly k: SimKernel,
    private readonly fulfilment: FulfilmentProcess,
  ) {
    const c = k.config;
    this.fromMs =
      c.routing === 'external' ? Math.max(c.externalFromMs, c.startTimeMs) : Number.POSITIVE_INFINITY;
  }

  /** Unanswered external checkouts. */
  get pendingCount(): number {
    return this.pending.size;
  }

  isExternal(atMs: number): boolean {
    return atMs >= this.fromMs;
  }

  /** A checkout made under external routing (now): held until answered or timed out. */
  hold(co: CheckoutOrder): void {
    co.status = ORDER.PENDING;
    this.pending.set(co.id, co);
    this.k.at(co.atMs + this.k.config.resolveTimeoutMs, ITEM.RESOLVE_TIMEOUT, 0, co);
  }

  /**
   * The answer to checkout `id` at simulated time atMs: a promise or a denial
   * (null). Takes effect at max(atMs, the simulator's now). Returns false
   * when the checkout is not waiting (unknown, answered before, timed out, or
   * the world stopped): a late answer is a race, not an error. Throws
   * ATP_ERR_SIM_RESOLVE when the promised node is not one of its candidates.
   */
  resolve(id: string, promise: ExternalPromise | null, atMs: number): boolean {
    if (!Number.isFinite(atMs)) throw new AtpError(ERR.SIM_RESOLVE, `checkout ${id}: atMs ${atMs}`, 'atMs');
    const co = this.pending.get(id);
    if (co === undefined || this.k.draining) return false;
    // The timeout item may not have run yet; past the deadline the answer is too late all the same.
    if (atMs >= co.atMs + this.k.config.resolveTimeoutMs) return false;
    let n = -1;
    if (promise !== null) {
      n = co.cands.nodeIds.indexOf(promise.node);
      if (n < 0) {
        throw new AtpError(
          ERR.SIM_RESOLVE,
          `checkout ${id}: node ${promise.node} is not a candidate (${co.cands.nodeIds.join(', ') || 'none'})`,
          'node',
        );
      }
      co.decisionId = promise.decisionId;
    }
    this.pending.delete(id);
    co.promised = n;
    this.k.at(Math.max(atMs, this.k.nowMs, co.atMs), ITEM.RESOLVE, 0, co);
    return true;
  }

  /** A RESOLVE item is due: the answer takes effect now. */
  apply(co: CheckoutOrder): void {
    co.atMs = this.k.nowMs;
    co.status = ORDER.ACTIVE;
    if (co.promised >= 0) this.promisedCount++;
    this.fulfilment.open(co);
  }

  /** A RESOLVE_TIMEOUT item is due: still unanswered means not promised. */
  timeout(co: CheckoutOrder): void {
    if (this.pending.get(co.id) !== co) return;
    this.pending.delete(co.id);
    this.timedOutCount++;
    co.promised = -1;
    this.apply(co);
  }

  /** The world stops: unanswered checkouts are dropped without an outcome (as open ones are). */
  clear(): void {
    this.pending.clear();
  }
}
