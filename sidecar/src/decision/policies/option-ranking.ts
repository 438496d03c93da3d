/**
 * Final ranking of fulfillment options (DESIGN.md §3): by p_fulfill x
 * utility, where utility prices ETA and cost into (0, 1] (a day of ETA
 * halves it, each unit of cost takes COST_WEIGHT off); ties go to the
 * smaller node id so answers are stable. After a soft reservation the held
 * option moves first, whatever its rank.
 */
import type { FulfillmentOption, ItemDecision, Reason } from '@mercato/proto/v1/decision';
import { round } from '../item-decision.js';
import type { Candidate } from './retrieval.js';

export const ETA_HALF_UTILITY_H = 24;
export const COST_WEIGHT = 0.02;

/** Utility of shipping from a candidate, from its ETA (hours) and cost. */
export function optionUtility(etaHours: number, cost: number): number {
  return 1 / (1 + etaHours / ETA_HALF_UTILITY_H) - COST_WEIGHT * cost;
}

/** The wire option for a candidate promised with probability `p`, for `reasons` (ATP_OK first). */
export function fulfillmentOption(
  c: Candidate,
  p: number,
  utility: number,
  reasons: Reason[],
): FulfillmentOption {
  return {
    nodeId: c.node.nodeId,
    nodeType: c.node.nodeType,
    etaHours: round(c.etaHours, 2),
    cost: round(c.cost, 2),
    score: round(p * utility, 6),
    pFulfill: round(p, 6),
    reasons,
  };
}

/** Sort comparator: best score first, then node id. */
export function byOptionRank(a: FulfillmentOption, b: FulfillmentOption): number {
  return b.score - a.score || (a.nodeId < b.nodeId ? -1 : 1);
}

/** The item with option `i` (the one that got the hold) moved first; p and risk follow it. */
export function promoteOption(item: ItemDecision, i: number, held: FulfillmentOption): ItemDecision {
  const options = [held, ...item.options.filter((_, k) => k !== i)];
  return { ...item, options, pFulfill: held.pFulfill, oversellRisk: round(1 - held.pFulfill, 6) };
}
