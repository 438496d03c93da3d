/**
 * Freshness and staleness limits by node type (DESIGN.md §1 and §6). These are
 * the single source for the ingester's SLO metrics, the feature vector's
 * staleness flag and the policy's stricter thresholds.
 */
import type { NodeType } from '@mercato/proto/v1/decision';

/** Event time to decision-visible, per source: first-party 5 s, third-party 60 s. */
export const FRESHNESS_SLO_MS: Record<NodeType, number> = {
  warehouse: 5_000,
  store: 5_000,
  seller: 60_000,
};

/** A node whose last heartbeat is older than this is stale (feed silent). */
export const HEARTBEAT_STALE_MS: Record<NodeType, number> = {
  warehouse: 90_000,
  store: 120_000,
  seller: 300_000,
};

/**
 * Sequence gaps: a missing event is waited for while the newest buffered event
 * is at most this much event time ahead of the oldest buffered one. Chosen
 * above the largest transport delay a healthy feed shows (60 s for sellers),
 * so reordering inside that bound never skips an event.
 */
export const GAP_TIMEOUT_MS = 180_000;

/** At most this many out-of-order events wait per (sku,node) before the gap is skipped. */
export const MAX_PENDING_PER_KEY = 256;

/** Half-life-style time constant of the sales velocity average. */
export const VELOCITY_TAU_MS = 3_600_000;

/** Weight of the newest reservation outcome in the cancellation share. */
export const CANCEL_SHARE_ALPHA = 0.05;
