/**
 * What the join counts per segment (one row of the aggregates table), and
 * the service-wide counters of records it did not count and why. Every
 * column is a count of items (a decision's (decision, sku) pairs).
 */

/** Per-segment counts; the SQLite columns carry the same names in snake_case. */
export const AGGREGATE_COLUMNS = [
  /** Items decided. */
  'requested',
  /** Items promised (answered available, after reservation). */
  'promised',
  /** Promised items whose order outcome arrived within the horizon. */
  'outcomes',
  'fulfilled',
  /** Fulfilled by the due time. */
  'on_time',
  /** Promised, then the node had fewer units at pick: the realized oversell. */
  'short_picked',
  'cancelled_buyer',
  'cancelled_seller',
  /** Promised items whose window closed without an outcome. */
  'unresolved',
  /** Items with a stock truth (simulated worlds only). */
  'truth_known',
  /** ...of which the stock was truly there. */
  'truth_available',
  /** Denied items with a stock truth. */
  'denied_truth',
  /** Denied items whose stock truth says the stock was there: false denials. */
  'false_denied',
] as const;
export type AggregateColumn = (typeof AGGREGATE_COLUMNS)[number];
export type AggregateCounts = Record<AggregateColumn, number>;

export function emptyCounts(): AggregateCounts {
  return Object.fromEntries(AGGREGATE_COLUMNS.map((c) => [c, 0])) as AggregateCounts;
}

/**
 * Records (or items) the join saw but did not count, by why. Durable with the
 * aggregates, exposed as metrics and in the report.
 */
export const JOIN_COUNTERS = [
  /** Records applied (valid, not skipped as already applied). */
  'records_applied',
  /** Records below the stored offset of their partition: a re-delivery after a restart. */
  'records_replayed',
  'dead_lettered',
  /** A decision id seen again while its window is open. */
  'duplicate_decisions',
  /** An outcome or truth for an item that already has one (the first one counts). */
  'duplicate_outcomes',
  /** A decision whose window had already closed when it arrived. */
  'late_decisions',
  /** An outcome or truth whose decision's window had already closed when it arrived. */
  'late_outcomes',
  /** An outcome resolved more than the horizon after its decision. */
  'beyond_horizon',
  /** An outcome or truth whose decision never arrived within the window. */
  'orphaned_outcomes',
  /** An outcome for an item the decision did not promise, or a SKU it did not decide. */
  'unmatched_outcomes',
] as const;
export type JoinCounter = (typeof JOIN_COUNTERS)[number];
