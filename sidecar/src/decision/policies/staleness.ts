/**
 * How stale inputs make a promise harder (DESIGN.md §6 "stream lag beyond
 * SLO", "warehouse feed silent", "Redis unreachable"). A node that is stale
 * (silent or lagging past its SLO) or unknown (past the hard limits), or a
 * SKU read from an expired cached copy, raises the model threshold by the
 * bundle's staleMargin per margin counted here; a lagging stream also takes
 * the units the node likely sold meanwhile off its stock.
 */
import { velocityAt } from '@mercato/features/apply-event';
import type { NodeHealth } from '@mercato/features/node-health';

/** Margins a stale node adds to its threshold. */
export const STALE_NODE_MARGINS = 1;
/** An unknown node's stock may be anything: twice the margin (and no promise at all for hot SKUs). */
export const UNKNOWN_NODE_MARGINS = 2;
/** A stale cached copy (the store could not answer) adds one margin on top of the node's. */
export const STALE_CACHE_MARGINS = 1;
/**
 * While a drift alarm is in force for the model (DESIGN §6 "features drift"),
 * every candidate's threshold carries one more margin, beside its staleness
 * margins, until a retrained model is promoted; answers say `degraded: drift`.
 */
export const DRIFT_MARGINS = 1;
const MS_PER_HOUR = 3_600_000;

/** Threshold margins of one candidate: its node's health plus the feature read's staleness. */
export function thresholdMargins(health: NodeHealth, staleCache: boolean): number {
  const node = health === 'stale' ? STALE_NODE_MARGINS : health === 'unknown' ? UNKNOWN_NODE_MARGINS : 0;
  return node + (staleCache ? STALE_CACHE_MARGINS : 0);
}

/**
 * Lag-aware buffer: units the node likely sold that the lagging stream has
 * not shown yet (its recent sales velocity times the lag, rounded up).
 * `recs` / `off` locate the (sku,node) record of the SKU's view.
 */
export function lagBufferUnits(recs: Float64Array, off: number, nowMs: number, lagMs: number): number {
  return Math.ceil((velocityAt(recs, off, nowMs) * lagMs) / MS_PER_HOUR);
}
