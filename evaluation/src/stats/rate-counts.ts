/**
 * The shapes the rate statistics share: an arm's counts and an interval
 * around a point estimate.
 */

/** One arm's binary outcome counts (promised of checkouts, oversold of promised...). */
export interface RateCounts {
  /** Non-negative integer, at most `trials`. */
  successes: number;
  /** Non-negative integer. */
  trials: number;
}

/** A point estimate with a two-sided interval. */
export interface Interval {
  /** NaN when the data cannot define it (no trials); the bounds are then the whole parameter space. */
  estimate: number;
  lower: number;
  upper: number;
}
