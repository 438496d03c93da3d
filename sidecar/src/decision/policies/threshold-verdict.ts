/**
 * The model's verdict on one scored candidate: does its calibrated
 * p_fulfill clear the threshold for the channel, the SKU's hotness and the
 * candidate's staleness margins (thresholds.ts), and if not, which reason
 * explains it best. The verdict is the candidate's reason on the model side;
 * only ATP_OK promises.
 */
import type { NodeHealth } from '@mercato/features/node-health';
import type { Channel } from '@mercato/proto/v1/decision';
import type { Thresholds } from '@mercato/proto/v1/model-manifest';
import { baseThreshold } from './thresholds.js';

export type ModelVerdict =
  | 'ATP_OK'
  | 'NODE_UNKNOWN_STOCK'
  | 'NODE_STALE'
  | 'HOT_SKU_STRICT'
  | 'BELOW_THRESHOLD';

/** What the verdict reads of a candidate. */
export interface JudgedNode {
  readonly health: NodeHealth;
  /** Staleness margins (staleness.ts) already inside `threshold`. */
  readonly margins: number;
}

/**
 * In order: an unknown node is never promised for a hot SKU (its stock may
 * be anything while buyers race for it); a p at or above the threshold
 * promises; a p that only the margins kept out is NODE_STALE; one that only
 * hotness kept out is HOT_SKU_STRICT; otherwise BELOW_THRESHOLD.
 * `threshold` is thresholds.ts `threshold(t, channel, hot, node.margins)`.
 */
export function thresholdVerdict(
  p: number,
  threshold: number,
  node: JudgedNode,
  hot: boolean,
  channel: Channel,
  t: Thresholds,
): ModelVerdict {
  if (node.health === 'unknown' && hot) return 'NODE_UNKNOWN_STOCK';
  if (p >= threshold) return 'ATP_OK';
  if (node.margins > 0 && p >= baseThreshold(t, channel, hot)) return 'NODE_STALE';
  if (hot && p >= baseThreshold(t, channel, false)) return 'HOT_SKU_STRICT';
  return 'BELOW_THRESHOLD';
}
