/**
 * The end-of-run summary of a closed-loop world: a plain JSON-serialisable
 * object (report.json; the lead's HTML report and the acceptance checks
 * read it). Computed from the per-checkout records, so it is a pure
 * function of what happened; rates whose denominator is 0 are null, never
 * a flattering 0.
 */
import type { FeatureState } from '@mercato/features/feature-state';
import type { ForcedFlashSale, ForcedOutage } from '../simulator/scenario-hooks.js';
import type { AppliedScenario, ScenarioName, ScenarioWindow, SupervisorFault } from './scenarios.js';
import type { WorldTimeline } from './world-options.js';
import { ANSWER_KINDS, type AnswerKind, type DecisionRecord } from './world-tally.js';

const P50 = 0.5;
const P99 = 0.99;

export interface WorldSummary {
  seed: number;
  region: string;
  /** The phases (simulated epoch ms) and where the world stood at the end. */
  timeline: WorldTimeline & { endMs: number };
  /** What the run played: the scenario, its window (null: none) and what it forced. */
  scenario: {
    name: ScenarioName;
    window: ScenarioWindow | null;
    flashSales: readonly ForcedFlashSale[];
    outages: readonly ForcedOutage[];
    supervisorFault: SupervisorFault | null;
    expectedDegradations: readonly string[];
  };
  /**
   * Every scenario the run played, in window order (one, or a sequence),
   * with what the checkouts inside its window saw: answers, degradations by
   * reason, promises and promises beyond free stock.
   */
  scenarios: ScenarioWindowSummary[];
  /** stop() ended the run before its drain finished. */
  stopped: boolean;
  /** Every live checkout was answered and has its outcome and ground truth (before the drain bound). */
  drained: boolean;
  /** Inventory events sent: during the warm-up, and from the live phase on. */
  events: { warmup: number; live: number };
  /** Live checkouts (every one sent to the router, unless it timed out waiting). */
  checkouts: number;
  /** Live checkouts by answer; unanswered = still in flight at the end. */
  answers: Record<AnswerKind | 'unanswered', number>;
  /** Promises that took effect. */
  promised: number;
  /** Of those, allows that named no node: the world chose it (RouterAnswer). */
  allowsWithoutNode: number;
  /** promised / checkouts. */
  promiseRate: number | null;
  outcomes: {
    fulfilled: number;
    fulfilledOnTime: number;
    shortPicked: number;
    cancelledBuyer: number;
    cancelledSeller: number;
    /** Promises without an outcome at the end (0 when drained). */
    missing: number;
    /** Outcomes reported twice for one decision (must be 0). */
    duplicates: number;
  };
  /** shortPicked / promised: promises the shelf could not keep. */
  realizedOversellRate: number | null;
  /** fulfilledOnTime / promised. */
  fulfilmentReliability: number | null;
  /** Promises made while free physical stock (units minus open reservations) was below qty. */
  promisedBeyondStock: number;
  /** Not promised (any answer but allow) although some candidate could have fulfilled. */
  falseDenials: number;
  /** falseDenials / checkouts not promised whose ground truth is known. */
  falseDenialRate: number | null;
  /** Live checkouts whose ground truth never came (0 when drained). */
  groundTruthMissing: number;
  degradations: {
    /** Answers that carried at least one degradation. */
    answers: number;
    byReason: Record<string, number>;
    /** byReason / answers received (allow, deny, error, invalid, late). */
    shareByReason: Record<string, number>;
  };
  /** Wall ms from call to answer, as the router measured it. */
  latencyMs: { samples: number; p50: number | null; p99: number | null; max: number | null };
  /** Order outcomes sent to the outcome sink, warm-up promises' included. */
  outcomesSent: number;
  /** The system view the world delivered (every event sent, applied once): what Redis must equal. */
  deliveredView: { pairs: number; digest: string };
}

export interface ScenarioWindowSummary {
  name: ScenarioName;
  window: ScenarioWindow | null;
  supervisorFault: SupervisorFault | null;
  expectedDegradations: readonly string[];
  /** SKUs a flash sale hit / nodes a feed outage silenced. */
  flashSkus: readonly string[];
  silentNodes: readonly string[];
  /** Live checkouts whose checkout time is inside the window. */
  checkouts: number;
  answers: Record<AnswerKind | 'unanswered', number>;
  promised: number;
  promisedBeyondStock: number;
  shortPicked: number;
  /** Checkouts in the window of a flash-sale SKU. */
  flashSkuCheckouts: number;
  /** Answers inside the window that carried each degradation. */
  degradedByReason: Record<string, number>;
}

export interface SummaryInput {
  seed: number;
  region: string;
  timeline: WorldTimeline;
  endMs: number;
  stopped: boolean;
  decisions: Iterable<DecisionRecord>;
  duplicateOutcomes: number;
  eventsWarmup: number;
  eventsLive: number;
  outcomesSent: number;
  view: FeatureState;
  scenario: AppliedScenario;
  /** Every scenario of the run (default: [scenario]). */
  scenarios?: readonly AppliedScenario[];
}

export function summarizeWorld(s: SummaryInput): WorldSummary {
  const answers = Object.fromEntries([...ANSWER_KINDS, 'unanswered'].map((k) => [k, 0])) as Record<
    AnswerKind | 'unanswered',
    number
  >;
  const outcomes = {
    fulfilled: 0,
    fulfilledOnTime: 0,
    shortPicked: 0,
    cancelledBuyer: 0,
    cancelledSeller: 0,
    missing: 0,
    duplicates: s.duplicateOutcomes,
  };
  const byReason = new Map<string, number>();
  const latencies: number[] = [];
  let checkouts = 0;
  let promised = 0;
  let withoutNode = 0;
  let beyondStock = 0;
  let falseDenials = 0;
  let deniedKnown = 0;
  let truthMissing = 0;
  let degradedAnswers = 0;
  let received = 0;
  const windows = (s.scenarios ?? [s.scenario]).map(windowSummary);
  for (const d of s.decisions) {
    for (const w of windows) countInWindow(w, d);
    checkouts++;
    answers[d.answer ?? 'unanswered']++;
    if (d.answer !== null && d.answer !== 'timeout') received++;
    if (d.latencyMs !== null && Number.isFinite(d.latencyMs)) latencies.push(d.latencyMs);
    if (d.degradations.length > 0) degradedAnswers++;
    for (const r of d.degradations) byReason.set(r, (byReason.get(r) ?? 0) + 1);
    if (d.anyFeasible === null) truthMissing++;
    if (d.promisedNode !== null) {
      promised++;
      if (d.nodeChosenByWorld) withoutNode++;
      if (d.beyondStock === true) beyondStock++;
      countOutcome(outcomes, d);
    } else if (d.anyFeasible !== null) {
      deniedKnown++;
      if (d.anyFeasible) falseDenials++;
    }
  }
  latencies.sort((a, b) => a - b);
  const reasons = [...byReason.keys()].sort();
  const sc = s.scenario;
  return {
    seed: s.seed,
    region: s.region,
    timeline: { ...s.timeline, endMs: s.endMs },
    scenario: {
      name: sc.scenario.name,
      window: sc.window === null ? null : { ...sc.window },
      flashSales: sc.flashSales.map((f) => ({ ...f })),
      outages: sc.outages.map((o) => ({ ...o, nodeIds: [...o.nodeIds] })),
      supervisorFault: sc.scenario.supervisor?.fault ?? null,
      expectedDegradations: [...sc.scenario.expectedDegradations],
    },
    scenarios: windows,
    stopped: s.stopped,
    drained: truthMissing === 0 && outcomes.missing === 0 && answers.unanswered === 0,
    events: { warmup: s.eventsWarmup, live: s.eventsLive },
    checkouts,
    answers,
    promised,
    allowsWithoutNode: withoutNode,
    promiseRate: ratio(promised, checkouts),
    outcomes,
    realizedOversellRate: ratio(outcomes.shortPicked, promised),
    fulfilmentReliability: ratio(outcomes.fulfilledOnTime, promised),
    promisedBeyondStock: beyondStock,
    falseDenials,
    falseDenialRate: ratio(falseDenials, deniedKnown),
    groundTruthMissing: truthMissing,
    degradations: {
      answers: degradedAnswers,
      byReason: Object.fromEntries(reasons.map((r) => [r, byReason.get(r) ?? 0])),
      shareByReason: Object.fromEntries(reasons.map((r) => [r, ratio(byReason.get(r) ?? 0, received) ?? 0])),
    },
    latencyMs: {
      samples: latencies.length,
      p50: percentile(latencies, P50),
      p99: percentile(latencies, P99),
      max: latencies.at(-1) ?? null,
    },
    outcomesSent: s.outcomesSent,
    deliveredView: { pairs: s.view.size, digest: s.view.digest() },
  };
}

function windowSummary(a: AppliedScenario): ScenarioWindowSummary {
  return {
    name: a.scenario.name,
    window: a.window === null ? null : { ...a.window },
    supervisorFault: a.scenario.supervisor?.fault ?? null,
    expectedDegradations: [...a.scenario.expectedDegradations],
    flashSkus: a.flashSales.map((f) => f.sku),
    silentNodes: a.outages.flatMap((o) => [...o.nodeIds]),
    checkouts: 0,
    answers: Object.fromEntries([...ANSWER_KINDS, 'unanswered'].map((k) => [k, 0])) as Record<
      AnswerKind | 'unanswered',
      number
    >,
    promised: 0,
    promisedBeyondStock: 0,
    shortPicked: 0,
    flashSkuCheckouts: 0,
    degradedByReason: {},
  };
}

function countInWindow(w: ScenarioWindowSummary, d: DecisionRecord): void {
  if (w.window === null || d.checkoutAtMs < w.window.fromMs || d.checkoutAtMs >= w.window.untilMs) return;
  w.checkouts++;
  w.answers[d.answer ?? 'unanswered']++;
  if (w.flashSkus.includes(d.sku)) w.flashSkuCheckouts++;
  for (const r of d.degradations) w.degradedByReason[r] = (w.degradedByReason[r] ?? 0) + 1;
  if (d.promisedNode === null) return;
  w.promised++;
  if (d.beyondStock === true) w.promisedBeyondStock++;
  if (d.outcome === 'short-picked') w.shortPicked++;
}

function countOutcome(o: WorldSummary['outcomes'], d: DecisionRecord): void {
  switch (d.outcome) {
    case null:
      o.missing++;
      return;
    case 'fulfilled':
      o.fulfilled++;
      if (d.onTime) o.fulfilledOnTime++;
      return;
    case 'short-picked':
      o.shortPicked++;
      return;
    case 'cancelled-buyer':
      o.cancelledBuyer++;
      return;
    case 'cancelled-seller':
      o.cancelledSeller++;
      return;
  }
}

function ratio(a: number, b: number): number | null {
  return b === 0 ? null : a / b;
}

/** Nearest-rank percentile of sorted values (null when there are none). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? null;
}
