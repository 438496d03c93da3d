/**
 * Freshness and liveness limits per event source, derived from the per node
 * type limits in features/freshness.ts (the single source of those numbers).
 * Events carry their source, not their node type; first-party nodes are
 * warehouses and stores, third-party nodes are sellers.
 */

import { FRESHNESS_SLO_MS, HEARTBEAT_STALE_MS } from '@mercato/features/freshness';
import type { NodeType } from '@mercato/proto/v1/decision';
import { SOURCES, type Source } from '@mercato/proto/v1/inventory-event';

export const NODE_TYPES_OF_SOURCE: Record<Source, readonly NodeType[]> = {
  'first-party': ['warehouse', 'store'],
  'third-party': ['seller'],
};

/** Event time to visible-in-decision: first-party 5 s, third-party 60 s (the loosest of the source's node types). */
export const FRESHNESS_SLO_MS_BY_SOURCE: Record<Source, number> = bySource(FRESHNESS_SLO_MS);

/** A node of this source is stale when its last heartbeat is older than this (loosest of its node types). */
export const HEARTBEAT_STALE_MS_BY_SOURCE: Record<Source, number> = bySource(HEARTBEAT_STALE_MS);

function bySource(limits: Record<NodeType, number>): Record<Source, number> {
  const out = {} as Record<Source, number>;
  for (const s of SOURCES) out[s] = Math.max(...NODE_TYPES_OF_SOURCE[s].map((t) => limits[t]));
  return out;
}
