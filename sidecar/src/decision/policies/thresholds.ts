/**
 * Which calibrated p_fulfill a promise needs (DESIGN.md §1: every threshold
 * from an explicit cost ratio). The bundle's thresholds are per channel and
 * SKU hotness; a stale node, a stale cached copy or an unknown node adds the
 * bundle's staleMargin (twice for unknown).
 */
import type { Channel } from '@mercato/proto/v1/decision';
import type { Thresholds } from '@mercato/proto/v1/model-manifest';

/**
 * Used when no bundle is loaded (rules-only): only hot-SKU detection reads
 * them. At cost ratio 10 (an oversell costs ten lost sales) the break-even
 * p is 10/11 ~ 0.91 for checkout.
 */
export const DEFAULT_THRESHOLDS: Thresholds = {
  costRatio: 10,
  checkout: { hot: 0.95, cold: 0.91 },
  browse: { hot: 0.7, cold: 0.6 },
  staleMargin: 0.03,
  hotSkuRatePerMin: 30,
};

/** A threshold is capped here so that a margin never makes a promise impossible by arithmetic alone. */
export const MAX_THRESHOLD = 0.999;

export function baseThreshold(t: Thresholds, channel: Channel, hot: boolean): number {
  const c = channel === 'checkout' ? t.checkout : t.browse;
  return hot ? c.hot : c.cold;
}

/** Margins: 1 for a stale node or stale cached copy, 2 for an unknown node; they add. */
export function threshold(t: Thresholds, channel: Channel, hot: boolean, margins: number): number {
  return Math.min(MAX_THRESHOLD, baseThreshold(t, channel, hot) + margins * t.staleMargin);
}
