/**
 * What the sidecar knows about a fulfillment node apart from its stock: the
 * directory facts (type, place, handling time, seller constraints) and the
 * batch features computed offline from history and loaded with a version.
 */
import type { NodeType } from '@mercato/proto/v1/decision';
import type { NodeBatchFeatures, NodeInfo } from '@mercato/proto/v1/node-directory';

// The directory entry and the batch features are contracts (proto/v1/node-directory.ts): the
// batch job writes them, every sidecar reads them.
export type { NodeBatchFeatures, NodeInfo } from '@mercato/proto/v1/node-directory';

/** Used before any batch job has run for a node: middle-of-the-road values. */
export const DEFAULT_BATCH_FEATURES: NodeBatchFeatures = {
  lossShare: 0.02,
  scanAccuracy: 0.9,
  cancelRate: 0.05,
  feedDelayP50S: 5,
  handlingAdherence: 0.95,
};

export const NODE_TYPE_CODE: Record<NodeType, number> = { warehouse: 0, store: 1, seller: 2 };

/** Zones are grid cells named `Z<row>-<col>`; distance is the Chebyshev step count. */
export function zoneDistance(a: string, b: string): number {
  const pa = parseZone(a);
  const pb = parseZone(b);
  if (pa === null || pb === null) return Number.POSITIVE_INFINITY;
  return Math.max(Math.abs(pa[0] - pb[0]), Math.abs(pa[1] - pb[1]));
}

export function zoneName(row: number, col: number): string {
  return `Z${row}-${col}`;
}

const ZONE_RE = /^Z(\d{1,3})-(\d{1,3})$/;

export function parseZone(z: string): [number, number] | null {
  const m = ZONE_RE.exec(z);
  return m === null ? null : [Number(m[1]), Number(m[2])];
}

/** Transit hours per zone step, by node type (stores deliver locally by courier). */
const TRANSIT_H_PER_STEP: Record<NodeType, number> = { warehouse: 6, store: 3, seller: 8 };
const TRANSIT_BASE_H: Record<NodeType, number> = { warehouse: 12, store: 2, seller: 24 };
const COST_PER_STEP = 0.6;

export function etaHours(node: NodeInfo, buyerZone: string): number {
  const d = zoneDistance(node.zone, buyerZone);
  return node.handlingHours + TRANSIT_BASE_H[node.nodeType] + TRANSIT_H_PER_STEP[node.nodeType] * d;
}

export function shippingCost(node: NodeInfo, buyerZone: string): number {
  return node.baseCost + COST_PER_STEP * zoneDistance(node.zone, buyerZone);
}

export function serves(node: NodeInfo, buyerZone: string): boolean {
  return zoneDistance(node.zone, buyerZone) <= node.serviceRadius;
}
