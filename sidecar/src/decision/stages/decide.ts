/**
 * Stage 4, decide: each item's answer on both sides of the shadow
 * evaluation (DESIGN.md §3), and the enforced side's as the answer given.
 *
 * - baseline: the rule scorer's verdict per candidate;
 * - model: the threshold verdict per scored candidate (only when the ranker
 *   answered for the request);
 * - naive: stock only (policies/naive-atp.ts), computed only when it is the
 *   enforced side (`--enforce naive`).
 * On each side a candidate that passes (and breaks no hard rule) becomes an
 * option, ranked by p_fulfill x utility (policies/option-ranking.ts); an
 * item with no option is denied with every distinct reason its candidates
 * gave. An item decided before ranking answers the same on both sides.
 */
import type { FulfillmentOption, ItemDecision, Reason } from '@mercato/proto/v1/decision';
import { round } from '../item-decision.js';
import type { EarlyItem, ItemOutcome, PlannedItem, ScoredItem } from '../item-states.js';
import type { ModelScores } from '../model-scores.js';
import { naiveDecision } from '../policies/naive-atp.js';
import { byOptionRank, fulfillmentOption } from '../policies/option-ranking.js';
import { optionReasons } from '../policies/option-reasons.js';
import type { EnforcedSide } from '../ports.js';

export function decideItems(
  items: readonly (EarlyItem | PlannedItem | ScoredItem)[],
  enforced: EnforcedSide,
): ItemOutcome[] {
  return items.map((item) => decideItem(item, enforced));
}

export function decideItem(item: EarlyItem | PlannedItem | ScoredItem, enforced: EnforcedSide): ItemOutcome {
  if (item.kind === 'early') {
    const d = item.decision;
    return { item, baseline: d, model: d, final: d, reservation: 'skipped' };
  }
  const baseline = sideDecision(item, null);
  const model = item.kind === 'scored' ? sideDecision(item, item.scores) : null;
  const final =
    enforced === 'naive' ? naiveDecision(item) : enforced === 'model' && model !== null ? model : baseline;
  return { item, baseline, model, final, reservation: 'skipped' };
}

/** One side's answer: the model's when `scores` is given, the rule baseline's otherwise. */
function sideDecision(item: PlannedItem | ScoredItem, scores: ModelScores | null): ItemDecision {
  const options: FulfillmentOption[] = [];
  const reasons: Reason[] = [];
  const hot = item.ctx.hot;
  const staleCache = item.source === 'stale-cache';
  let bestP = 0;
  let units = 0;
  for (const cand of item.cands) {
    let pass: boolean;
    let p: number;
    let reason: Reason;
    if (cand.hard !== null) {
      // Never an option; the baseline still reports its rule p (the model never scored it).
      pass = false;
      p = scores === null ? cand.rule.pFulfill : 0;
      reason = cand.hard;
    } else if (scores === null) {
      pass = cand.rule.passes;
      p = cand.rule.pFulfill;
      reason = cand.rule.reason;
      units += cand.rule.unitsP10;
    } else {
      const verdict = scores.verdict(cand.slot);
      pass = verdict === 'ATP_OK';
      p = scores.p(cand.slot);
      reason = verdict;
      units += scores.units(cand.slot);
    }
    if (p > bestP) bestP = p;
    if (!pass) {
      if (!reasons.includes(reason)) reasons.push(reason);
      continue;
    }
    options.push(fulfillmentOption(cand.retrieved, p, cand.utility, optionReasons(cand, hot, staleCache)));
  }
  options.sort(byOptionRank);
  const best = options[0];
  if (best === undefined) {
    return {
      sku: item.ctx.sku,
      qty: item.ctx.qty,
      available: false,
      pFulfill: round(bestP, 6),
      unitsP10: units,
      oversellRisk: 0,
      reasons,
      options,
    };
  }
  return {
    sku: item.ctx.sku,
    qty: item.ctx.qty,
    available: true,
    pFulfill: best.pFulfill,
    unitsP10: units,
    oversellRisk: round(1 - best.pFulfill, 6),
    reasons: ['ATP_OK'],
    options,
  };
}
