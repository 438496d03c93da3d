/**
 * The simulator's order outcome as the `order.outcome.v1` contract
 * (proto/v1/order-outcome.ts): what the closed-loop world publishes on
 * `order.outcomes.<region>`, one per promised (decision, sku).
 */
import type { OrderOutcome } from '@mercato/proto/v1/order-outcome';
import type { SimOrderOutcomeRecord } from './sim-record.js';

/** The contract's outcome id convention: one outcome per (decision, sku). */
export function orderOutcomeId(decisionId: string, sku: string): string {
  return `${decisionId}:${sku}`;
}

export function toOrderOutcome(r: SimOrderOutcomeRecord): OrderOutcome {
  return {
    outcomeId: orderOutcomeId(r.decisionId, r.sku),
    decisionId: r.decisionId,
    region: r.region,
    sku: r.sku,
    node: r.node,
    qty: r.qty,
    status: r.status,
    unitsPicked: r.unitsPicked,
    promisedAtMs: r.promisedAtMs,
    dueAtMs: r.dueAtMs,
    resolvedAtMs: r.atMs,
    // The simulated picker works to the minute; kept as a comparison so a late-pick model needs no contract change.
    onTime: r.status === 'fulfilled' && r.atMs <= r.dueAtMs,
  };
}
