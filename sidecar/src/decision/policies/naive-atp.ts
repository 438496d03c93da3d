/**
 * Naive available-to-promise: the reference policy a closed-loop world
 * compares the model against (`serve --enforce naive`). An item is promised
 * iff some serviceable candidate node has on hand - reserved >= qty, as the
 * feature store reads it: no model, no rule margins, no lag buffer, no
 * staleness, no seller constraints. That is what a stock-only ATP check
 * does, and what the model's oversell rate is measured against.
 *
 * The naive policy has no probability of its own: an option it promises is
 * certain in its view (p = 1), so the existing option ranking (p x utility)
 * orders its options by utility alone. A node short of stock answers
 * RESERVED_STOCK when holds account for the shortfall, else
 * INSUFFICIENT_ATP (the hard rules' codes). units_p10 is the plain sum of
 * sellable units over the candidates.
 */
import type { FulfillmentOption, ItemDecision, Reason } from '@mercato/proto/v1/decision';
import type { PlannedCandidate, PlannedItem, ScoredItem } from '../item-states.js';
import { byOptionRank, fulfillmentOption } from './option-ranking.js';

/** What the naive policy believes of a node holding enough stock. */
export const NAIVE_P_FULFILL = 1;

/** The naive side's answer for a planned (or scored) item. */
export function naiveDecision(item: PlannedItem | ScoredItem): ItemDecision {
  const { sku, qty } = item.ctx;
  const options: FulfillmentOption[] = [];
  const reasons: Reason[] = [];
  let units = 0;
  for (const cand of item.cands) {
    if (cand.atp > 0) units += cand.atp;
    const reason = naiveReason(cand, qty);
    if (reason === 'ATP_OK') {
      options.push(fulfillmentOption(cand.retrieved, NAIVE_P_FULFILL, cand.utility, ['ATP_OK']));
    } else if (!reasons.includes(reason)) {
      reasons.push(reason);
    }
  }
  options.sort(byOptionRank);
  const available = options.length > 0;
  return {
    sku,
    qty,
    available,
    pFulfill: available ? NAIVE_P_FULFILL : 0,
    unitsP10: units,
    oversellRisk: 0,
    reasons: available ? ['ATP_OK'] : reasons,
    options,
  };
}

/** The naive verdict on one candidate: ATP_OK, RESERVED_STOCK or INSUFFICIENT_ATP. */
export function naiveReason(cand: PlannedCandidate, qty: number): Reason {
  if (cand.atp >= qty) return 'ATP_OK';
  return cand.onHand >= qty ? 'RESERVED_STOCK' : 'INSUFFICIENT_ATP';
}
