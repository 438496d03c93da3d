/**
 * Numbers of the soft reservation step (DESIGN.md §3 "atomic soft
 * reservation"), shared by the memory and Redis stores and the engine's
 * reserve stage. What happens when the store cannot answer is its own
 * policy: wide-margin-fallback.ts.
 */
import { FRESHNESS_SLO_MS } from '@mercato/features/freshness';

/**
 * A checkout hold lives this long unless confirmed or released: long enough
 * for a buyer to finish paying, short enough that abandoned baskets give the
 * units back within minutes.
 */
export const SOFT_HOLD_TTL_MS = 120_000;

/**
 * After the order confirms a hold, the hold is kept this long so the units
 * stay counted until the order's reservation event is visible in the feature
 * store: twice the slowest freshness SLO (third-party, 60 s). Counting both
 * for a while is the conservative side.
 */
export const CONFIRMED_HOLD_TTL_MS = 2 * Math.max(...Object.values(FRESHNESS_SLO_MS));

/**
 * The engine's bound on one reservation call, whatever the store. Past it the
 * hold is released (it may have landed) and the item is decided without one.
 * DESIGN.md §9: Redis features + soft reservation < 10 ms p99 under load.
 */
export const RESERVATION_TIMEOUT_MS = 10;

/** Bound of the in-memory store (about 100 bytes a hold); beyond it new holds are refused. */
export const MAX_MEMORY_HOLDS = 1_000_000;

/** UTC day of `ms` as YYYYMMDD: the window of sellers' daily order caps. */
export function utcDayKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}
