/**
 * Sends the live phase's checkouts to the router, at most maxInFlight at
 * once and in checkout order (the rest wait), and applies each answer to
 * the simulator at the clock's now: the business time the answer reached
 * the world, so a slow data plane costs simulated time as it would cost a
 * buyer real time. A checkout that waited for a slot longer than the answer
 * timeout is not sent (the simulator already counts it as not promised).
 */
import type { Clock } from '@mercato/platform/clock';
import { hasCode, toAtpError } from '@mercato/platform/errors';
import { ERR } from '../errors.js';
import type { SimCheckoutRecord } from '../simulator/sim-record.js';
import type { Simulator } from '../simulator/simulator.js';
import type { Router, RouterAnswer, WorldCheckout } from './world-ports.js';
import type { AppliedAnswer, WorldTally } from './world-tally.js';

/** The waiting FIFO drops its consumed head once this many entries are consumed (and at least half). */
const WAITING_COMPACT_AT = 1024;

export interface DispatcherDeps {
  router: Router;
  clock: Clock;
  sim: Simulator;
  tally: WorldTally;
  maxInFlight: number;
  answerTimeoutMs: number;
  /**
   * Where the world fulfils an allow that names no node (RouterAnswer):
   * one of the checkout's candidates, or null when it has none (then the
   * allow is applied as a denial, `invalid`).
   */
  fulfilWithoutNode: (c: SimCheckoutRecord) => string | null;
}

export class CheckoutDispatcher {
  private readonly waiting: SimCheckoutRecord[] = [];
  private head = 0;
  private inFlight = 0;
  private closed = false;
  /** An unexpected error while applying an answer (a bug, not a router failure); the driver rethrows it. */
  failure: Error | null = null;

  constructor(private readonly d: DispatcherDeps) {}

  get inFlightCount(): number {
    return this.inFlight;
  }

  get waitingCount(): number {
    return this.waiting.length - this.head;
  }

  /** Nothing in flight and nothing waiting. */
  get idle(): boolean {
    return this.inFlight === 0 && this.waitingCount === 0;
  }

  /** A live checkout, just yielded by the simulator: tracked now, sent when a slot is free. */
  submit(c: SimCheckoutRecord): void {
    if (this.closed) return;
    this.d.tally.open(c);
    this.waiting.push(c);
    this.pump();
  }

  /**
   * Sends waiting checkouts while slots are free, and gives up on those that
   * waited past the answer timeout even when no slot is (stuck calls must
   * not keep the rest waiting forever).
   */
  pump(): void {
    const { clock, tally, maxInFlight, answerTimeoutMs } = this.d;
    while (!this.closed && this.head < this.waiting.length) {
      const c = this.waiting[this.head]!;
      if (clock.now() - c.atMs >= answerTimeoutMs) tally.timedOut(c.checkoutId);
      else if (this.inFlight < maxInFlight) this.send(c);
      else break;
      this.head++;
    }
    if (this.head >= WAITING_COMPACT_AT && this.head * 2 >= this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
  }

  /** The run is over: answers still to come are ignored, waiting checkouts stay unanswered. */
  close(): void {
    this.closed = true;
    this.waiting.length = 0;
    this.head = 0;
  }

  private send(c: SimCheckoutRecord): void {
    this.inFlight++;
    const startedMs = performance.now();
    const failed = (err: unknown): RouterAnswer => ({
      decision: 'error',
      reason: toAtpError(err).code,
      latencyMs: performance.now() - startedMs,
    });
    let answer: Promise<RouterAnswer>;
    try {
      answer = this.d.router.route(worldCheckout(c));
    } catch (err) {
      answer = Promise.resolve(failed(err));
    }
    answer.then(
      (a) => this.answered(c, a),
      (err: unknown) => this.answered(c, failed(err)),
    );
  }

  private answered(c: SimCheckoutRecord, a: RouterAnswer): void {
    this.inFlight--;
    if (this.closed) return;
    try {
      this.apply(c, a);
    } catch (err) {
      this.failure ??= err instanceof Error ? err : new Error(String(err));
    }
    this.pump();
  }

  /** Resolves the checkout in the simulator and records what took effect. */
  private apply(c: SimCheckoutRecord, a: RouterAnswer): void {
    const { sim, tally, clock } = this.d;
    const id = c.checkoutId;
    const atMs = Math.max(clock.now(), c.atMs);
    const base: AppliedAnswer = {
      atMs,
      decisionId: a.decision === 'error' ? null : (a.decisionId ?? null),
      promisedNode: null,
      nodeChosenByWorld: false,
      latencyMs: a.latencyMs,
      degradations: a.degradations ?? [],
    };
    if (a.decision !== 'allow') {
      tally.answered(id, sim.resolveCheckout(id, null, atMs) ? a.decision : 'late', base);
      return;
    }
    const node = a.node ?? this.d.fulfilWithoutNode(c);
    if (node === null) {
      tally.answered(id, sim.resolveCheckout(id, null, atMs) ? 'invalid' : 'late', base);
      return;
    }
    const chosen = { ...base, nodeChosenByWorld: a.node === null };
    try {
      const applied = sim.resolveCheckout(id, { node, decisionId: a.decisionId }, atMs);
      tally.answered(id, applied ? 'allow' : 'late', { ...chosen, promisedNode: applied ? node : null });
    } catch (err) {
      if (!hasCode(err, ERR.SIM_RESOLVE)) throw err;
      // The data plane promised a node the buyer cannot be served from: the world treats it as a denial.
      sim.resolveCheckout(id, null, atMs);
      tally.answered(id, 'invalid', chosen);
    }
  }
}

function worldCheckout(c: SimCheckoutRecord): WorldCheckout {
  return {
    checkoutId: c.checkoutId,
    region: c.region,
    buyerZone: c.buyerZone,
    sku: c.sku,
    qty: c.qty,
    atMs: c.atMs,
  };
}
