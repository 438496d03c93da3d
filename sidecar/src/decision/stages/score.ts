/**
 * Stage 3, score: one batched ranker run over every batch row of every
 * planned item (the candidates' own rows and their units ladders), under the
 * model guard's budget (the request's deadline caps it). Then, from the raw
 * scores: calibration (the bundle's), each candidate's threshold and verdict
 * (policies/thresholds.ts, policies/threshold-verdict.ts) and its units_p10
 * (policies/units-ladder.ts).
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
import { type ModelVerdict, thresholdVerdict } from '../policies/threshold-verdict.js';
import { threshold } from '../policies/thresholds.js';
import { unitsFromLadder } from '../policies/units-ladder.js';
import type { DecisionObserver, RankerGuard, ScoringModel } from '../ports.js';
import type { Plan } from './plan.js';

export interface ScoreDeps {
  guard: RankerGuard;
  /** Batch features of the nodes. */
  directory: NodeDirectory;
  batches: BatchPool;
  observer: DecisionObserver | null;
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
): Promise<(EarlyItem | ScoredItem)[] | null> {
  const batch = deps.batches.take(plan.rows);
  try {
    fillBatch(batch, plan.items, nowMs, deps.directory);
    const budgetMs = deadlineAt === undefined ? Number.POSITIVE_INFINITY : deadlineAt - performance.now();
    const res = await deps.guard.rank(model.ranker, batch, plan.rows, budgetMs);
    if (!res.ok) {
      degraded.add('model');
      deps.observer?.rankerFallback(res.cause);
      return null;
    }
    deps.observer?.ranked(plan.rows, res.ms);
    const scores = judge(res.pRaw, plan, model, channel);
    // An explicit literal, not `{ ...item, kind: 'scored' }`: V8 copies a spread whose fields are then
    // overwritten slowly (about a microsecond an object).
    return plan.items.map((item): EarlyItem | ScoredItem =>
      item.kind === 'early'
        ? item
        : { kind: 'scored', ctx: item.ctx, source: item.source, view: item.view, cands: item.cands, scores },
    );
  } finally {
    deps.batches.give(batch);
  }
}

/** Feature vectors of every row: each ranked candidate at its requested qty, then at each rung of its ladder. */
function fillBatch(
  batch: Float32Array,
  items: readonly (EarlyItem | PlannedItem)[],
  nowMs: number,
  directory: NodeDirectory,
): void {
  const fctx: FeatureContext = { qty: 1, nowMs, skuRatePerMin: 0, streamLagMs: 0 };
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
        cand.row * FEATURE_COUNT,
        view.recs,
        i * RECORD_WIDTH,
        nodeRec,
        node,
        batchFeatures,
        fctx,
      );
      let k = 0;
      for (const rung of cand.rungs) {
        fctx.qty = rung;
        fillFeatureVector(
          batch,
          (cand.ladderRow + k) * FEATURE_COUNT,
          view.recs,
          i * RECORD_WIDTH,
          nodeRec,
          node,
          batchFeatures,
          fctx,
        );
        k++;
      }
    }
  }
}

/**
 * Calibration, thresholds, verdicts and units_p10 from the raw scores of one
 * run, in slot order. Ladder rows are calibrated only as far as the ladder climbs.
 */
function judge(pRaw: Float32Array, plan: Plan, model: ScoringModel, channel: Channel): ModelScores {
  const cal = model.calibration;
  const t = model.thresholds;
  const values: number[] = [];
  const verdicts: ModelVerdict[] = [];
  for (const item of plan.items) {
    if (item.kind === 'early') continue;
    const hot = item.ctx.hot;
    for (const cand of item.cands) {
      if (cand.hard !== null) continue;
      const p = calibrate(cal, pRaw[cand.row] ?? 0);
      const thr = threshold(t, channel, hot, cand.margins);
      let units = 0;
      if (cand.rungs.length > 0) {
        const base = cand.ladderRow;
        units = unitsFromLadder(cand.rungs, (k) => calibrate(cal, pRaw[base + k] ?? 0));
      }
      values.push(p, thr, units); // SCORE_STRIDE numbers per slot
      verdicts.push(thresholdVerdict(p, thr, cand, hot, channel, t));
    }
  }
  return new ModelScores(values, verdicts);
}
