/**
 * Rules-only scoring, the baseline: naive ATP (on hand - reserved >= qty)
 * with a safety buffer per node type, and no promise from a stale or unknown
 * node. It answers when no model is loaded, it is the conservative fallback
 * when the model is missing, failing or slow (flagged `degraded: model`), and
 * it is the "baseline" side of every shadow comparison.
 */
import type { NodeType, Reason } from '@mercato/proto/v1/decision';
import type { NodeHealth } from './node-health.js';

/** Units held back per node type before promising (stores shrink, sellers lag). */
export const SAFETY_BUFFER_UNITS: Record<NodeType, number> = { warehouse: 0, store: 2, seller: 1 };
/** Extra units held back when the stock comes from a stale cached copy (the store was unreachable). */
export const STALE_CACHE_BUFFER_UNITS = 2;
/** p_fulfill the rule scorer reports for a pass, a pass only without the buffer, and a fail. */
export const RULE_P_PASS = 0.95;
export const RULE_P_BUFFER_ONLY = 0.5;
export const RULE_P_FAIL = 0.02;

export interface RuleScore {
  pFulfill: number;
  /** Conservative sellable units (ATP minus the buffers, floored at 0). */
  unitsP10: number;
  passes: boolean;
  reason: Reason;
}

/**
 * `atp` is on hand - reserved; `extraBufferUnits` covers lag (expected sales
 * not yet visible) and stale cached copies.
 */
export function scoreByRules(
  atp: number,
  nodeType: NodeType,
  health: NodeHealth,
  extraBufferUnits: number,
  qty: number,
): RuleScore {
  const buffer = SAFETY_BUFFER_UNITS[nodeType] + extraBufferUnits;
  const unitsP10 = Math.max(0, atp - buffer);
  if (health !== 'fresh') return { pFulfill: RULE_P_FAIL, unitsP10: 0, passes: false, reason: 'NODE_STALE' };
  if (atp - buffer >= qty) return { pFulfill: RULE_P_PASS, unitsP10, passes: true, reason: 'ATP_OK' };
  if (atp >= qty) return { pFulfill: RULE_P_BUFFER_ONLY, unitsP10, passes: false, reason: 'SAFETY_BUFFER' };
  return { pFulfill: RULE_P_FAIL, unitsP10, passes: false, reason: 'INSUFFICIENT_ATP' };
}
