/**
 * Why an option was promised (proto FulfillmentOption.reasons), in a fixed
 * order: `ATP_OK` first (the node holds the quantity and its side passed
 * it), then each condition under which it was promised all the same, so an
 * operator reading one option sees what the decision had to work around.
 * Codes (proto REASONS, stable):
 *
 * - `NODE_STALE`      the node's feed is stale or silent: the stricter
 *                     staleness margins applied (policies/staleness.ts);
 * - `HOT_SKU_STRICT`  the SKU is hot: the hot threshold applied and the
 *                     promise stands only with a soft hold;
 * - `SAFETY_BUFFER`   units beyond the node type's standing buffer were
 *                     taken off its stock before judging it (the lag buffer
 *                     of a lagging stream, or the stale-cache buffer when
 *                     Redis answered from a stale copy);
 * - `WIDE_MARGIN`     added by the wide-margin fallback when the promise was
 *                     made without a hold (policies/wide-margin-fallback.ts).
 *
 * The naive side (policies/naive-atp.ts) knows none of these: `ATP_OK` only.
 */
import type { Reason } from '@mercato/proto/v1/decision';
import type { PlannedCandidate } from '../item-states.js';

/** The reasons of a candidate promised on the model or rule side; `staleCache`: its features came from a stale copy. */
export function optionReasons(cand: PlannedCandidate, hot: boolean, staleCache: boolean): Reason[] {
  const reasons: Reason[] = ['ATP_OK'];
  if (cand.health !== 'fresh') reasons.push('NODE_STALE');
  if (hot) reasons.push('HOT_SKU_STRICT');
  if (cand.sellable < cand.atp || staleCache) reasons.push('SAFETY_BUFFER');
  return reasons;
}
