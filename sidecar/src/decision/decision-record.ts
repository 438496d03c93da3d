/**
 * The decision-log record of one answered request (format:
 * decision-log/README.md): both sides of the shadow evaluation per item,
 * what was finally answered and held, and per candidate the model's p and
 * threshold beside the rule's p. Built after the answer, only when a
 * decision sink is configured.
 */
import type { CheckRequest, CheckResponse, ItemDecision } from '@mercato/proto/v1/decision';
import {
  type CandidateLog,
  DECISION_LOG_SCHEMA,
  type DecisionLogRecord,
  type ItemLog,
  type SideOutcome,
} from '../decision-log/decision-log-record.js';
import type { ArmAssignment } from '../experiments/experiment-assigner.js';
import { round } from './item-decision.js';
import type { EarlyItem, ItemOutcome, PlannedItem, ScoredItem } from './item-states.js';
import { naiveReason } from './policies/naive-atp.js';
import type { EnforcedSide } from './ports.js';

export function decisionRecord(
  req: CheckRequest,
  res: CheckResponse,
  outcomes: readonly ItemOutcome[],
  enforced: EnforcedSide,
  modelOk: boolean,
  nowMs: number,
  latencyS: number,
  arm: ArmAssignment | null = null,
): DecisionLogRecord {
  let modelAllow = true;
  let baseAllow = true;
  const items: ItemLog[] = outcomes.map((o) => {
    if (o.model !== null && !o.model.available) modelAllow = false;
    if (!o.baseline.available) baseAllow = false;
    const ctx = o.item.ctx;
    return {
      sku: ctx.sku,
      qty: ctx.qty,
      hot: ctx.hot,
      ratePerMin: round(ctx.ratePerMin, 3),
      lagMs: ctx.lagMs,
      source: o.item.source,
      model: modelOk && o.model !== null ? sideOutcome(o.model) : null,
      baseline: sideOutcome(o.baseline),
      final: sideOutcome(o.final),
      reservation: o.reservation,
      candidates: candidateLogs(o.item, enforced),
    };
  });
  return {
    schema: DECISION_LOG_SCHEMA,
    ts: nowMs,
    decisionId: res.decisionId,
    requestId: req.requestId,
    region: req.region,
    zone: req.buyerZone,
    channel: req.channel,
    mode: res.mode,
    enforced,
    decision: res.decision,
    modelDecision: modelOk ? (modelAllow ? 'allow' : 'deny') : null,
    baselineDecision: baseAllow ? 'allow' : 'deny',
    modelVersion: res.modelVersion,
    rulesVersion: res.rulesVersion,
    degradations: res.degradations,
    latencyUs: Math.round(latencyS * 1e6),
    ...(arm === null ? {} : { experiment: arm.experimentId, arm: arm.arm }),
    items,
  };
}

function sideOutcome(it: ItemDecision): SideOutcome {
  return {
    available: it.available,
    node: it.options[0]?.nodeId ?? '',
    p: it.pFulfill,
    unitsP10: it.unitsP10,
    reasons: it.reasons,
  };
}

/**
 * Per candidate: the model's p and threshold when it scored it, and the
 * reason of the enforced side (the naive side's is about stock only).
 */
function candidateLogs(item: EarlyItem | PlannedItem | ScoredItem, enforced: EnforcedSide): CandidateLog[] {
  if (item.kind === 'early') return [];
  const scores = item.kind === 'scored' ? item.scores : null;
  return item.cands.map((c): CandidateLog => {
    const scored = scores !== null && c.hard === null;
    const p = scored ? scores.p(c.slot) : Number.NaN;
    return {
      node: c.retrieved.node.nodeId,
      p: Number.isNaN(p) ? null : round(p, 6),
      pRule: c.rule.pFulfill,
      threshold: scored ? round(scores.threshold(c.slot), 6) : null,
      health: c.health,
      reason:
        enforced === 'naive'
          ? naiveReason(c, item.ctx.qty)
          : (c.hard ?? (scored && enforced === 'model' ? scores.verdict(c.slot) : c.rule.reason)),
    };
  });
}
