/**
 * Decision thresholds from an explicit cost ratio (DESIGN.md §1): promising
 * a row whose pick fails costs `costRatio` (one oversell = that many lost
 * sales), refusing a row that would have shipped costs 1 (a lost sale). The
 * threshold is the calibrated p that minimises the mean cost on validation
 * rows: promise iff p >= threshold. With perfect calibration it sits near
 * costRatio / (1 + costRatio); the empirical search corrects what
 * calibration left per segment.
 */
import type { Thresholds } from '@mercato/proto/v1/model-manifest';

/** A segment with fewer validation rows than this takes the all-rows threshold (too few to search). */
export const MIN_SEGMENT_ROWS = 500;
/** The stale margin is at least this (the sidecar also adds it for stale cached copies, absent offline). */
export const MIN_STALE_MARGIN = 0.02;
export const MAX_STALE_MARGIN = 0.2;

export interface CostOptimum {
  threshold: number;
  /** Mean cost per row at that threshold. */
  cost: number;
  promiseRate: number;
  rows: number;
}

/** Mean cost per row of promising exactly the rows with p >= threshold. */
export function expectedCost(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
  threshold: number,
  costRatio: number,
): number {
  let cost = 0;
  for (let i = 0; i < rows; i++) {
    if (p[i]! >= threshold) cost += y[i] === 1 ? 0 : costRatio;
    else cost += y[i] === 1 ? 1 : 0;
  }
  return rows > 0 ? cost / rows : 0;
}

/**
 * Searches every distinct p of the selected rows (and "promise nothing").
 * `select` (optional) restricts to rows with select[i] = 1. Ties in cost keep
 * the higher threshold (the cautious one).
 */
export function costOptimalThreshold(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
  costRatio: number,
  select?: ArrayLike<number>,
): CostOptimum {
  const idx: number[] = [];
  for (let i = 0; i < rows; i++) if (select === undefined || select[i] === 1) idx.push(i);
  idx.sort((a, b) => p[b]! - p[a]! || a - b);
  const n = idx.length;
  let positives = 0;
  for (const i of idx) positives += y[i]!;
  // Promise nothing: every positive is a lost sale.
  let cost = positives;
  let best = { threshold: 1 + Number.EPSILON, cost, promised: 0 };
  let k = 0;
  while (k < n) {
    const pk = p[idx[k]!]!;
    // Promise every row with this p at once (a threshold cannot split equal p).
    while (k < n && p[idx[k]!]! === pk) {
      cost += y[idx[k]!] === 1 ? -1 : costRatio;
      k++;
    }
    if (cost < best.cost) best = { threshold: pk, cost, promised: k };
  }
  return {
    threshold: Math.min(1, best.threshold),
    cost: n > 0 ? best.cost / n : 0,
    promiseRate: n > 0 ? best.promised / n : 0,
    rows: n,
  };
}

export interface ThresholdConfig {
  /** Checkout: one oversell costs this many lost sales. */
  costRatio: number;
  /** Browse (product-page badges): a looser ratio; the simulator has no browse labels, so the same model decides. */
  browseCostRatio: number;
  hotSkuRatePerMin: number;
}

export interface DerivedThresholds {
  thresholds: Thresholds;
  /** Every optimum searched, for the report. */
  detail: Record<string, CostOptimum>;
}

/**
 * Thresholds per channel and hotness from calibrated validation
 * probabilities. `hot` and `stale` mark rows (1/0). A hot threshold is never
 * below the cold one of its channel (DESIGN §3). The stale margin is the
 * optimum on stale rows minus the optimum on all rows at the checkout ratio,
 * clamped to [MIN_STALE_MARGIN, MAX_STALE_MARGIN].
 */
export function deriveThresholds(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
  hot: Uint8Array,
  stale: Uint8Array,
  config: ThresholdConfig,
): DerivedThresholds {
  const cold = Uint8Array.from(hot, (h) => 1 - h);
  const detail: Record<string, CostOptimum> = {};
  const search = (name: string, ratio: number, select?: Uint8Array): number => {
    const all = costOptimalThreshold(p, y, rows, ratio);
    const o = select === undefined ? all : costOptimalThreshold(p, y, rows, ratio, select);
    detail[name] = o;
    return o.rows >= MIN_SEGMENT_ROWS ? o.threshold : all.threshold;
  };
  const checkoutAll = search('checkout.all', config.costRatio);
  // DESIGN §3: stricter for hot SKUs. A hot segment whose own optimum is looser takes the cold one.
  const checkoutCold = search('checkout.cold', config.costRatio, cold);
  const browseCold = search('browse.cold', config.browseCostRatio, cold);
  const checkout = {
    hot: Math.max(checkoutCold, search('checkout.hot', config.costRatio, hot)),
    cold: checkoutCold,
  };
  const browse = {
    hot: Math.max(browseCold, search('browse.hot', config.browseCostRatio, hot)),
    cold: browseCold,
  };
  const staleOpt = search('checkout.stale', config.costRatio, stale);
  const staleMargin = Math.min(MAX_STALE_MARGIN, Math.max(MIN_STALE_MARGIN, staleOpt - checkoutAll));
  return {
    thresholds: {
      costRatio: config.costRatio,
      checkout,
      browse,
      staleMargin: round6(staleMargin),
      hotSkuRatePerMin: config.hotSkuRatePerMin,
    },
    detail,
  };
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
