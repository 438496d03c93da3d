/**
 * Rules-only scoring: naive ATP (on hand - reserved >= qty) with a safety
 * buffer per node type, and no promise from a stale node. It is the first
 * decision path and, later, the conservative fallback when the model is
 * missing or failing.
 */
import type { NodeType, Reason } from '../../../proto/v1/decision.js';
import { HEARTBEAT_STALE_MS } from '../features/freshness.js';
import { N, NODE_RECORD_WIDTH, R, RECORD_WIDTH } from '../features/record-layout.js';
import type { SkuView } from './ports.js';
import type { Candidate } from './retrieval.js';

/** Units held back per node type before promising (stores shrink, sellers lag). */
export const SAFETY_BUFFER_UNITS: Record<NodeType, number> = { warehouse: 0, store: 2, seller: 1 };
/** p_fulfill the rule scorer reports for a pass, a pass only without the buffer, and a fail. */
export const RULE_P_PASS = 0.95;
export const RULE_P_BUFFER_ONLY = 0.5;
export const RULE_P_FAIL = 0.02;

export interface CandidateScore {
  pFulfill: number;
  /** Conservative sellable units (ATP minus the buffer, floored at 0). */
  unitsP10: number;
  passes: boolean;
  reasons: Reason[];
}

export function scoreByRules(view: SkuView, c: Candidate, qty: number, nowMs: number): CandidateScore {
  const off = c.index * RECORD_WIDTH;
  const atp = view.recs[off + R.onHand]! - view.recs[off + R.reserved]!;
  const buffer = SAFETY_BUFFER_UNITS[c.node.nodeType];
  const lastHb = view.nodeRecs[c.index * NODE_RECORD_WIDTH + N.lastHeartbeatMs]!;
  const stale = lastHb === 0 || nowMs - lastHb > HEARTBEAT_STALE_MS[c.node.nodeType];
  const unitsP10 = Math.max(0, atp - buffer);
  if (stale) return { pFulfill: RULE_P_FAIL, unitsP10: 0, passes: false, reasons: ['NODE_STALE'] };
  if (atp - buffer >= qty) return { pFulfill: RULE_P_PASS, unitsP10, passes: true, reasons: ['ATP_OK'] };
  if (atp >= qty)
    return { pFulfill: RULE_P_BUFFER_ONLY, unitsP10, passes: false, reasons: ['SAFETY_BUFFER'] };
  return { pFulfill: RULE_P_FAIL, unitsP10, passes: false, reasons: ['INSUFFICIENT_ATP'] };
}
