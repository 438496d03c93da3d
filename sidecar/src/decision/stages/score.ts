/**
 * Stage 3, score: one batched ranker run over every batch row of every
 * planned item (the candidates' own rows and their units ladders), under the
 * model guard's budget (the request's deadline caps it). Then, from the raw
 * scores: calibration (the bundle's), each candidate's threshold and verdict
 * (policies/thresholds.ts, policies/threshold-verdict.ts) and its units_p10
 * (policies/units-ladder.ts).
 *
 * Batch rows: the stage lays out its own rows, densely: each ranked
 * candidate's row, then its ladder rows only when the model's UnitsCache has
 * no units_p10 for the candidate's current record (the plan reserves rows for
 * every ladder; most checkouts need none of them). `lane` (the channel) picks
 * the guard's breaker, so slow product pages never stop the model for
 * checkouts.
 *
 * When the ranker cannot answer (timeout, error, open circuit) the stage
 * adds `model` to the degradations and returns null: the rule baseline
 * answers for every item.
 */
import { FEATURE_COUNT, type FeatureContext, fillFeatureVector } from '@mercato/features/feature-vector';
import { NODE_RECORD_WIDTH, RECORD_WIDTH } from '@mercato/features/record-layout';
import type { NodeDirectory } from '@mercato/features/store-ports';
import type { Channel, Degradation } from '@mercato/proto/v1/decision';
import { calibrate } from '@mercato/proto/v1/model-manifest';
import type { BatchPool } from '../batch-pool.js';
import type { EarlyItem, PlannedItem, ScoredItem } from '../item-states.js';
import { ModelScores } from '../model-scores.js';
import { DRIFT_MARGINS } from '../policies/staleness.js';
import { thresholdVerdict } from '../policies/threshold-verdict.js';
import { threshold } from '../policies/thresholds.js';
import { UNITS_MISS, UNITS_P10_LEVEL, UnitsCache } from '../policies/units-ladder.js';
import type {
  DecisionObserver,
  DriftWatch,
  Ranker,
  RankerGuard,
  ScoringModel,
  ServedFeatureAudit,
  ServedRowSink,
} from '../ports.js';
import { observeServed } from './observe-served.js';
import type { Plan } from './plan.js';

export interface ScoreDeps {
  guard: RankerGuard;
  /** Batch features of the nodes. */
  directory: NodeDirectory;
  batches: BatchPool;
  observer: DecisionObserver | null;
  /** Online drift: fed the served rows; a drift alarm adds the drift margin (`degraded: drift`). */
  drift: DriftWatch | null;
  /** The served side of the skew audit (a sample of requests). */
  audit: ServedFeatureAudit | null;
  /** Keeps the served rows with recent decisions (the decision ring, when on). */
  served: ServedRowSink | null;
}

/** One units_p10 cache per loaded model (a model's ranker lives as long as the model). */
const unitsCaches = new WeakMap<Ranker, UnitsCache>();

/** The units_p10 cache of a model (created on first use). */
export function unitsCacheOf(model: ScoringModel): UnitsCache {
  let c = unitsCaches.get(model.ranker);
  if (c === undefined) {
    c = new UnitsCache();
    unitsCaches.set(model.ranker, c);
  }
  return c;
}

/** Per ranked slot: its batch row, and its first ladder row (NO_LADDER: none run). Reused between requests. */
const NO_LADDER = -1;
const layoutPool: Int32Array[] = [];
const LAYOUT_POOL_SIZE = 8;

function takeLayout(slots: number): Int32Array {
  const l = layoutPool.pop();
  return l !== undefined && l.length >= slots * 2 ? l : new Int32Array(Math.max(64, slots * 2));
}

function giveLayout(l: Int32Array): void {
  if (layoutPool.length < LAYOUT_POOL_SIZE) layoutPool.push(l);
}

/** The plan's items with every planned one scored, or null when the model could not answer. */
export async function scoreItems(
  model: ScoringModel,
  plan: Plan,
  channel: Channel,
  nowMs: number,
  deadlineAt: number | undefined,
  deps: ScoreDeps,
  degraded: Set<Degradation>,
  decisionId: string,
): Promise<(EarlyItem | ScoredItem)[] | null> {
  const batch = deps.batches.take(plan.rows);
  const slots = countSlots(plan);
  const layout = takeLayout(slots);
  const scores = new ModelScores(slots);
  const units = unitsCacheOf(model);
  try {
    const rows = fillBatch(batch, layout, scores, units, plan.items, nowMs, deps.directory);
    const budgetMs = deadlineAt === undefined ? Number.POSITIVE_INFINITY : deadlineAt - performance.now();
    const res = await deps.guard.rank(model.ranker, batch, rows, budgetMs, channel);
    if (!res.ok) {
      degraded.add('model');
      deps.observer?.rankerFallback(res.cause);
      return null;
    }
    deps.observer?.ranked(rows, res.ms);
    // A drift alarm in force: every threshold carries the drift margin until a retrained model is promoted.
    const drifting = deps.drift?.drifting(model.version) === true;
    if (drifting) degraded.add('drift');
    judge(res.pRaw, layout, scores, units, plan, model, channel, nowMs, drifting ? DRIFT_MARGINS : 0);
    observeServed(
      batch,
      layout,
      scores,
      plan,
      model,
      deps.directory,
      deps.drift,
      deps.audit,
      decisionId,
      nowMs,
      deps.served,
    );
    // An explicit literal, not `{ ...item, kind: 'scored' }`: V8 copies a spread whose fields are then
    // overwritten slowly (about a microsecond an object).
    return plan.items.map((item): EarlyItem | ScoredItem =>
      item.kind === 'early'
        ? item
        : { kind: 'scored', ctx: item.ctx, source: item.source, view: item.view, cands: item.cands, scores },
    );
  } finally {
    deps.batches.give(batch);
    giveLayout(layout);
  }
}

function countSlots(plan: Plan): number {
  let n = 0;
  for (const item of plan.items) {
    if (item.kind === 'early') continue;
    for (const cand of item.cands) if (cand.hard === null) n++;
  }
  return n;
}

/**
 * Feature vectors of every row: each ranked candidate at its requested qty,
 * then, unless its units_p10 is cached, at each rung of its ladder. Returns
 * the rows used; `layout` says where each slot's rows are.
 */
function fillBatch(
  batch: Float32Array,
  layout: Int32Array,
  scores: ModelScores,
  units: UnitsCache,
  items: readonly (EarlyItem | PlannedItem)[],
  nowMs: number,
  directory: NodeDirectory,
): number {
  const fctx: FeatureContext = { qty: 1, nowMs, skuRatePerMin: 0, streamLagMs: 0 };
  let row = 0;
  for (const item of items) {
    if (item.kind === 'early') continue;
    const view = item.view;
    fctx.skuRatePerMin = item.ctx.ratePerMin;
    fctx.streamLagMs = item.ctx.lagMs;
    for (const cand of item.cands) {
      if (cand.hard !== null) continue;
      const i = cand.retrieved.index;
      const node = cand.retrieved.node;
      const nodeRec = view.nodeRecs.subarray(i * NODE_RECORD_WIDTH, (i + 1) * NODE_RECORD_WIDTH);
      const batchFeatures = directory.batch(node.nodeId);
      fctx.qty = item.ctx.qty;
      fillFeatureVector(
        batch,
        row * FEATURE_COUNT,
        view.recs,
        i * RECORD_WIDTH,
        nodeRec,
        node,
        batchFeatures,
        fctx,
      );
      layout[cand.slot * 2] = row++;
      layout[cand.slot * 2 + 1] = NO_LADDER;
      if (cand.rungs.length === 0) continue;
      const known = units.get(item.ctx.sku, view, i, cand.sellable, nowMs);
      if (known !== UNITS_MISS) {
        scores.setUnits(cand.slot, known);
        continue;
      }
      layout[cand.slot * 2 + 1] = row;
      for (const rung of cand.rungs) {
        fctx.qty = rung;
        fillFeatureVector(
          batch,
          row * FEATURE_COUNT,
          view.recs,
          i * RECORD_WIDTH,
          nodeRec,
          node,
          batchFeatures,
          fctx,
        );
        row++;
      }
    }
  }
  return row;
}

/**
 * Calibration, thresholds, verdicts and units_p10 from the raw scores of one
 * run, in slot order. Ladder rows are calibrated only as far as the ladder
 * climbs; a ladder that ran refreshes the model's units cache.
 */
function judge(
  pRaw: Float32Array,
  layout: Int32Array,
  scores: ModelScores,
  units: UnitsCache,
  plan: Plan,
  model: ScoringModel,
  channel: Channel,
  nowMs: number,
  driftMargins: number,
): void {
  const cal = model.calibration;
  const t = model.thresholds;
  for (const item of plan.items) {
    if (item.kind === 'early') continue;
    const hot = item.ctx.hot;
    for (const cand of item.cands) {
      if (cand.hard !== null) continue;
      const slot = cand.slot;
      const p = calibrate(cal, pRaw[layout[slot * 2] ?? 0] ?? 0);
      const thr = threshold(t, channel, hot, cand.margins + driftMargins);
      const base = layout[slot * 2 + 1] ?? NO_LADDER;
      if (base !== NO_LADDER) {
        // unitsFromLadder's rule, over the run's rows (no closure per candidate).
        let u = 0;
        let k = 0;
        for (const rung of cand.rungs) {
          if (calibrate(cal, pRaw[base + k] ?? 0) < UNITS_P10_LEVEL) break;
          u = rung;
          k++;
        }
        scores.setUnits(slot, u);
        units.set(item.ctx.sku, item.view, cand.retrieved.index, cand.sellable, u, nowMs);
      }
      scores.set(slot, p, thr, thresholdVerdict(p, thr, cand, hot, channel, t));
    }
  }
}
