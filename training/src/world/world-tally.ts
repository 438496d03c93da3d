/**
 * What the world knows about each live checkout it sent: the answer, the
 * promise that took effect, the order outcome, and the simulator's ground
 * truth (could any candidate have fulfilled). One record per checkout of
 * the live phase, in checkout order; warm-up checkouts (naive routing) are
 * not tracked. The summary (world-summary.ts) is computed from these.
 */
import type { OutcomeStatus } from '@mercato/proto/v1/order-outcome';
import type { SimCheckoutRecord, SimOrderOutcomeRecord, SimOutcomeRecord } from '../simulator/sim-record.js';

/**
 * - allow / deny / error: the router's answer, applied to the world;
 * - invalid: an allow naming a node that is not a candidate, or naming none
 *   for a checkout without candidates (applied as a denial);
 * - late: answered after the answer timeout (the world had counted it as not promised);
 * - timeout: never sent: it waited for a free slot longer than the answer timeout.
 */
export const ANSWER_KINDS = ['allow', 'deny', 'error', 'invalid', 'late', 'timeout'] as const;
export type AnswerKind = (typeof ANSWER_KINDS)[number];

export interface DecisionRecord {
  checkoutId: string;
  sku: string;
  qty: number;
  checkoutAtMs: number;
  /** null while the call is in flight (at the end: unanswered). */
  answer: AnswerKind | null;
  /** Simulated time the answer was applied. */
  answeredAtMs: number | null;
  decisionId: string | null;
  /** The node promised, when a promise took effect. */
  promisedNode: string | null;
  /** The allow named no node: the world's order service chose it (RouterAnswer, CheckoutDispatcher). */
  nodeChosenByWorld: boolean;
  latencyMs: number | null;
  degradations: readonly string[];
  /** What became of the promise; null until it happened (or when not promised). */
  outcome: OutcomeStatus | null;
  /** Fulfilled by its due time. */
  onTime: boolean;
  /** Promised although free physical stock was below qty (ground truth at promise time); null until the outcome. */
  beyondStock: boolean | null;
  /** Ground truth: some candidate had qty units at its pick time; null until every pick time passed. */
  anyFeasible: boolean | null;
}

/** What the caller knows when an answer is applied. */
export interface AppliedAnswer {
  atMs: number;
  decisionId: string | null;
  promisedNode: string | null;
  nodeChosenByWorld: boolean;
  latencyMs: number | null;
  degradations: readonly string[];
}

const NO_DEGRADATIONS: readonly string[] = [];

export class WorldTally {
  private readonly records = new Map<string, DecisionRecord>();
  /** Checkouts still waiting for an answer, an outcome or their ground truth. */
  private readonly unsettled = new Set<string>();
  /** Order outcomes for a decision that already had one (the world must report each once). */
  duplicateOutcomes = 0;
  /** Running counts for progress lines (the summary recounts from the records). */
  promisedCount = 0;
  shortPickedCount = 0;

  get size(): number {
    return this.records.size;
  }

  /** Every live checkout is accounted for: answered, its promise's outcome and its ground truth known. */
  settled(): boolean {
    return this.unsettled.size === 0;
  }

  get unsettledCount(): number {
    return this.unsettled.size;
  }

  /** Every live checkout, in checkout order. */
  decisions(): IterableIterator<DecisionRecord> {
    return this.records.values();
  }

  get(checkoutId: string): DecisionRecord | undefined {
    return this.records.get(checkoutId);
  }

  /** A live checkout, before it is sent. */
  open(c: SimCheckoutRecord): void {
    this.records.set(c.checkoutId, {
      checkoutId: c.checkoutId,
      sku: c.sku,
      qty: c.qty,
      checkoutAtMs: c.atMs,
      answer: null,
      answeredAtMs: null,
      decisionId: null,
      promisedNode: null,
      nodeChosenByWorld: false,
      latencyMs: null,
      degradations: NO_DEGRADATIONS,
      outcome: null,
      onTime: false,
      beyondStock: null,
      anyFeasible: null,
    });
    this.unsettled.add(c.checkoutId);
  }

  answered(checkoutId: string, kind: AnswerKind, a: AppliedAnswer): void {
    const d = this.records.get(checkoutId);
    if (d === undefined) return;
    d.answer = kind;
    d.answeredAtMs = a.atMs;
    d.decisionId = a.decisionId;
    d.promisedNode = a.promisedNode;
    d.nodeChosenByWorld = a.nodeChosenByWorld;
    d.latencyMs = a.latencyMs;
    d.degradations = a.degradations;
    if (a.promisedNode !== null) this.promisedCount++;
    this.check(d);
  }

  /** Never sent: it waited longer than the answer timeout (the simulator times it out on its own). */
  timedOut(checkoutId: string): void {
    const d = this.records.get(checkoutId);
    if (d === undefined) return;
    d.answer = 'timeout';
    this.check(d);
  }

  /** A promise's order outcome (warm-up promises are not tracked and pass through). */
  orderOutcome(r: SimOrderOutcomeRecord): void {
    const d = this.records.get(r.checkoutId);
    if (d === undefined) return;
    if (d.outcome !== null) {
      this.duplicateOutcomes++;
      return;
    }
    d.outcome = r.status;
    if (r.status === 'short-picked') this.shortPickedCount++;
    d.onTime = r.status === 'fulfilled' && r.atMs <= r.dueAtMs;
    d.beyondStock = r.freeUnitsAtPromise < r.qty;
    this.check(d);
  }

  /** The simulator's ground truth of a checkout (every candidate's pick time passed). */
  groundTruth(r: SimOutcomeRecord): void {
    const d = this.records.get(r.checkoutId);
    if (d === undefined) return;
    d.anyFeasible = r.feasible.some((f) => f);
    this.check(d);
  }

  private check(d: DecisionRecord): void {
    if (d.answer === null || d.anyFeasible === null) return;
    if (d.promisedNode !== null && d.outcome === null) return;
    this.unsettled.delete(d.checkoutId);
  }
}
