/**
 * How much the sidecar trusts a candidate node's stock right now (DESIGN.md
 * §6): `fresh`; `stale` when its feed is silent (heartbeat older than
 * HEARTBEAT_STALE_MS) or the SKU's partition lags beyond the node type's
 * freshness SLO (stricter threshold); `unknown` beyond the hard limits
 * (no promise for hot SKUs, a doubly strict threshold for cold ones).
 */
import type { NodeType } from '@mercato/proto/v1/decision';
import { FRESHNESS_SLO_MS, HEARTBEAT_STALE_MS } from './freshness.js';

/** Stream lag beyond this many freshness SLOs makes the node's stock unknown. */
export const HARD_LAG_SLO_MULTIPLE = 6;
/** Feed silence beyond this many stale periods makes the node's stock unknown. */
export const UNKNOWN_HEARTBEAT_STALE_MULTIPLE = 4;

export type NodeHealth = 'fresh' | 'stale' | 'unknown';
export type StaleCause = 'heartbeat' | 'lag' | null;

export function hardLagLimitMs(t: NodeType): number {
  return FRESHNESS_SLO_MS[t] * HARD_LAG_SLO_MULTIPLE;
}

export interface HealthVerdict {
  health: NodeHealth;
  cause: StaleCause;
}

const FRESH: HealthVerdict = { health: 'fresh', cause: null };

/** `lastHeartbeatMs` 0 = the node never spoke. */
export function nodeHealth(
  t: NodeType,
  lastHeartbeatMs: number,
  lagMs: number,
  nowMs: number,
): HealthVerdict {
  const staleMs = HEARTBEAT_STALE_MS[t];
  const age = lastHeartbeatMs > 0 ? nowMs - lastHeartbeatMs : Number.POSITIVE_INFINITY;
  if (age > staleMs * UNKNOWN_HEARTBEAT_STALE_MULTIPLE) return { health: 'unknown', cause: 'heartbeat' };
  if (lagMs > hardLagLimitMs(t)) return { health: 'unknown', cause: 'lag' };
  if (age > staleMs) return { health: 'stale', cause: 'heartbeat' };
  if (lagMs > FRESHNESS_SLO_MS[t]) return { health: 'stale', cause: 'lag' };
  return FRESH;
}
