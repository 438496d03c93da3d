/**
 * One decision-log record per answered request (format documented in
 * README.md beside this file). No user-level data: the request id is an
 * opaque id chosen by the caller, the zone is the coarse buyer zone.
 */
import type { Channel, Degradation, Mode, Reason } from '@mercato/proto/v1/decision';

export const DECISION_LOG_SCHEMA = 'atp.decision-log.v1';

/** One side of the shadow comparison for one item. */
export interface SideOutcome {
  available: boolean;
  /** Node that would be promised ('' when none). */
  node: string;
  p: number;
  unitsP10: number;
  reasons: Reason[];
}

export interface CandidateLog {
  node: string;
  /** Calibrated model p_fulfill (null when the model did not score). */
  p: number | null;
  /** Rule scorer p_fulfill. */
  pRule: number;
  threshold: number | null;
  health: 'fresh' | 'stale' | 'unknown';
  reason: Reason;
}

export interface ItemLog {
  sku: string;
  qty: number;
  hot: boolean;
  ratePerMin: number;
  lagMs: number;
  source: 'store' | 'cache' | 'stale-cache' | 'none';
  model: SideOutcome | null;
  baseline: SideOutcome;
  candidates: CandidateLog[];
  /** What the enforced side finally answered (after reservation). */
  final: SideOutcome;
  reservation: 'held' | 'refused' | 'unavailable' | 'skipped';
}

export interface DecisionLogRecord {
  schema: typeof DECISION_LOG_SCHEMA;
  ts: number;
  decisionId: string;
  requestId: string;
  region: string;
  zone: string;
  channel: Channel;
  mode: Mode;
  /** Which side the answer followed (`naive`: stock only, a world's reference policy). */
  enforced: 'model' | 'baseline' | 'naive';
  decision: 'allow' | 'deny';
  /** allow/deny each side would have answered (before reservation). */
  modelDecision: 'allow' | 'deny' | null;
  baselineDecision: 'allow' | 'deny';
  modelVersion: string;
  rulesVersion: string;
  degradations: Degradation[];
  latencyUs: number;
  /** The experiment and arm the decision was made under; absent outside experiments (arm `none`: a stopped arm's bucket). */
  experiment?: string;
  arm?: string;
  items: ItemLog[];
}

/** The NDJSON line (snake_case, like every other wire shape). */
export function decisionLogToJson(r: DecisionLogRecord): Record<string, unknown> {
  const side = (s: SideOutcome | null) =>
    s === null
      ? null
      : { available: s.available, node: s.node, p: s.p, units_p10: s.unitsP10, reasons: s.reasons };
  return {
    schema: r.schema,
    ts: r.ts,
    decision_id: r.decisionId,
    request_id: r.requestId,
    region: r.region,
    zone: r.zone,
    channel: r.channel,
    mode: r.mode,
    enforced: r.enforced,
    decision: r.decision,
    model_decision: r.modelDecision,
    baseline_decision: r.baselineDecision,
    model_version: r.modelVersion,
    rules_version: r.rulesVersion,
    degradations: r.degradations,
    latency_us: r.latencyUs,
    ...(r.experiment === undefined ? {} : { experiment: r.experiment, arm: r.arm }),
    items: r.items.map((it) => ({
      sku: it.sku,
      qty: it.qty,
      hot: it.hot,
      rate_per_min: it.ratePerMin,
      lag_ms: it.lagMs,
      source: it.source,
      model: side(it.model),
      baseline: side(it.baseline),
      final: side(it.final),
      reservation: it.reservation,
      candidates: it.candidates.map((c) => ({
        node: c.node,
        p: c.p,
        p_rule: c.pRule,
        threshold: c.threshold,
        health: c.health,
        reason: c.reason,
      })),
    })),
  };
}
