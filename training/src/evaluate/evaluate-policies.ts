/**
 * The evaluation of a calibrated model against the two baselines on exactly
 * the same rows (DESIGN.md §4):
 *
 * - naive ATP: promise when atp >= qty;
 * - safety stock: promise when atp - SAFETY_BUFFER_UNITS[node type] >= qty;
 * - the model at the SAME promise rate as each baseline (the rows of highest
 *   raw p, as many as the baseline promised): the oversell comparison the
 *   acceptance criterion reads;
 * - the model at its own cost-derived operating point (calibrated p >=
 *   checkout threshold for the SKU's hotness, plus the stale margin on stale
 *   nodes, as the sidecar applies it).
 *
 * Every number lands in a plain JSON object (report.json) and the HTML report.
 * Rows are (checkout, candidate) pairs; `routing` adds the checkout-level view
 * (one promise per checkout, first candidate in ETA order that passes).
 */

import { FEATURE_COUNT, FEATURE_NAMES } from '@mercato/features/feature-vector';
import { SAFETY_BUFFER_UNITS } from '@mercato/features/rule-scorer';
import type { NodeType } from '@mercato/proto/v1/decision';
import type { Thresholds } from '@mercato/proto/v1/model-manifest';
import type { DecisionRows } from '../dataset/decision-rows.js';
import {
  auc,
  ece,
  logLoss,
  type PolicyStats,
  policyStats,
  type ReliabilityBin,
  reliability,
  topKPolicy,
} from './metrics.js';

/** The sidecar caps a threshold plus margins here (decision/thresholds.ts MAX_THRESHOLD). */
export const MAX_EFFECTIVE_THRESHOLD = 0.999;
/** Promise rates at which the oversell curve is sampled. */
const CURVE_POINTS = 60;
/** Segments with fewer rows are listed but get no model metrics (too few to read). */
const MIN_SEGMENT_ROWS = 200;

const NODE_TYPE_BY_CODE: readonly NodeType[] = ['warehouse', 'store', 'seller'];
const COL_ATP = FEATURE_NAMES.indexOf('atp');
const COL_QTY = FEATURE_NAMES.indexOf('qty');
const COL_MARGIN = FEATURE_NAMES.indexOf('margin');
const COL_RATE = FEATURE_NAMES.indexOf('sku_rate_per_min');
const COL_STALE = FEATURE_NAMES.indexOf('stale');

export interface ModelQuality {
  logLoss: number;
  auc: number;
  ece: number;
  /** The same three for the raw (uncalibrated) p. */
  logLossRaw: number;
  eceRaw: number;
}

export interface SegmentReport {
  segment: string;
  rows: number;
  /** Share of rows that could ship (label 1). */
  availableShare: number;
  naive: PolicyStats;
  safetyStock: PolicyStats;
  modelAtNaiveRate: PolicyStats;
  modelAtThreshold: PolicyStats;
  /** modelAtNaiveRate.oversellRate / naive.oversellRate (NaN when naive never oversold). */
  oversellRatioVsNaive: number;
  quality: ModelQuality | null;
}

export interface CurvePoint {
  promiseRate: number;
  oversellRate: number;
  availablePromiseRate: number;
  threshold: number;
}

export interface RoutingReport {
  checkouts: number;
  /** Checkouts where some candidate could ship. */
  availableShare: number;
  naive: PolicyStats;
  modelAtNaiveRate: PolicyStats & { threshold: number };
  modelAtThreshold: PolicyStats;
}

export interface EvaluationReport {
  rows: number;
  availableShare: number;
  costRatio: number;
  quality: ModelQuality;
  reliability: ReliabilityBin[];
  /** The margin (atp - qty) as a score: what naive ATP ranks by. */
  naiveMarginAuc: number;
  policies: {
    naive: PolicyStats;
    safetyStock: PolicyStats;
    modelAtNaiveRate: PolicyStats & { threshold: number };
    modelAtSafetyRate: PolicyStats & { threshold: number };
    modelAtThreshold: PolicyStats;
  };
  /** modelAtNaiveRate.oversellRate / naive.oversellRate: the acceptance number (<= 0.5). */
  oversellRatioVsNaive: number;
  oversellRatioVsSafetyStock: number;
  curve: CurvePoint[];
  segments: SegmentReport[];
  routing: RoutingReport;
}

export interface EvaluateInput {
  rows: DecisionRows;
  /** Raw model probability per row (ranks rows for the equal-rate comparisons). */
  pRaw: ArrayLike<number>;
  /** Calibrated probability per row (what the sidecar acts on). */
  pCal: ArrayLike<number>;
  thresholds: Thresholds;
}

export function evaluatePolicies(input: EvaluateInput): EvaluationReport {
  const { rows: d, pRaw, pCal, thresholds: th } = input;
  const n = d.rows;
  const ratio = th.costRatio;
  const masks = baseMasks(d, th);
  const modelThreshold = thresholdMask(pCal, masks.hot, masks.stale, th);

  const naive = policyStats(masks.naive, d.y, n, ratio);
  const safety = policyStats(masks.safety, d.y, n, ratio);
  const atNaive = topKPolicy(pRaw, n, naive.promised);
  const atSafety = topKPolicy(pRaw, n, safety.promised);
  const modelAtNaiveRate = { ...policyStats(atNaive.promise, d.y, n, ratio), threshold: atNaive.threshold };
  const modelAtSafetyRate = {
    ...policyStats(atSafety.promise, d.y, n, ratio),
    threshold: atSafety.threshold,
  };

  const margin = Float64Array.from({ length: n }, (_, i) => d.x[i * FEATURE_COUNT + COL_MARGIN]!);
  let available = 0;
  for (let i = 0; i < n; i++) available += d.y[i]!;

  return {
    rows: n,
    availableShare: n > 0 ? available / n : 0,
    costRatio: ratio,
    quality: quality(pRaw, pCal, d.y, n),
    reliability: reliability(pCal, d.y, n),
    naiveMarginAuc: auc(margin, d.y, n),
    policies: {
      naive,
      safetyStock: safety,
      modelAtNaiveRate,
      modelAtSafetyRate,
      modelAtThreshold: policyStats(modelThreshold, d.y, n, ratio),
    },
    oversellRatioVsNaive: modelAtNaiveRate.oversellRate / naive.oversellRate,
    oversellRatioVsSafetyStock: modelAtSafetyRate.oversellRate / safety.oversellRate,
    curve: oversellCurve(pRaw, d.y, n),
    segments: segments(d, pRaw, pCal, masks, modelThreshold, ratio),
    routing: routing(d, pRaw, masks, modelThreshold, ratio),
  };
}

interface Masks {
  naive: Uint8Array;
  safety: Uint8Array;
  hot: Uint8Array;
  stale: Uint8Array;
}

function baseMasks(d: DecisionRows, th: Thresholds): Masks {
  const n = d.rows;
  const m: Masks = {
    naive: new Uint8Array(n),
    safety: new Uint8Array(n),
    hot: new Uint8Array(n),
    stale: new Uint8Array(n),
  };
  for (let i = 0; i < n; i++) {
    const o = i * FEATURE_COUNT;
    const atp = d.x[o + COL_ATP]!;
    const qty = d.x[o + COL_QTY]!;
    const type = NODE_TYPE_BY_CODE[d.nodeType[i]!]!;
    m.naive[i] = atp >= qty ? 1 : 0;
    m.safety[i] = atp - SAFETY_BUFFER_UNITS[type] >= qty ? 1 : 0;
    m.hot[i] = d.x[o + COL_RATE]! >= th.hotSkuRatePerMin ? 1 : 0;
    m.stale[i] = d.x[o + COL_STALE]! === 1 ? 1 : 0;
  }
  return m;
}

/** Hot / cold rows by the sketch rate, as the sidecar classifies them. */
export function hotMask(d: DecisionRows, hotSkuRatePerMin: number): Uint8Array {
  return Uint8Array.from({ length: d.rows }, (_, i) =>
    d.x[i * FEATURE_COUNT + COL_RATE]! >= hotSkuRatePerMin ? 1 : 0,
  );
}

export function staleMask(d: DecisionRows): Uint8Array {
  return Uint8Array.from({ length: d.rows }, (_, i) => (d.x[i * FEATURE_COUNT + COL_STALE]! === 1 ? 1 : 0));
}

/** The sidecar's checkout rule: calibrated p >= threshold(hotness) + staleMargin on stale nodes, capped. */
function thresholdMask(
  pCal: ArrayLike<number>,
  hot: Uint8Array,
  stale: Uint8Array,
  th: Thresholds,
): Uint8Array {
  const out = new Uint8Array(hot.length);
  for (let i = 0; i < hot.length; i++) {
    const base = hot[i] === 1 ? th.checkout.hot : th.checkout.cold;
    const t = Math.min(MAX_EFFECTIVE_THRESHOLD, base + (stale[i] === 1 ? th.staleMargin : 0));
    out[i] = pCal[i]! >= t ? 1 : 0;
  }
  return out;
}

function quality(pRaw: ArrayLike<number>, pCal: ArrayLike<number>, y: Uint8Array, n: number): ModelQuality {
  return {
    logLoss: logLoss(pCal, y, n),
    auc: auc(pRaw, y, n),
    ece: ece(pCal, y, n),
    logLossRaw: logLoss(pRaw, y, n),
    eceRaw: ece(pRaw, y, n),
  };
}

/** Oversell rate of the model's top rows at evenly spaced promise rates. */
function oversellCurve(pRaw: ArrayLike<number>, y: Uint8Array, n: number): CurvePoint[] {
  const idx = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => pRaw[b]! - pRaw[a]! || a - b);
  let available = 0;
  for (let i = 0; i < n; i++) available += y[i]!;
  const out: CurvePoint[] = [];
  let bad = 0;
  let good = 0;
  let next = 1;
  for (let k = 0; k < n; k++) {
    if (y[idx[k]!] === 1) good++;
    else bad++;
    if ((k + 1) * CURVE_POINTS >= next * n) {
      out.push({
        promiseRate: (k + 1) / n,
        oversellRate: bad / (k + 1),
        availablePromiseRate: available > 0 ? good / available : 0,
        threshold: pRaw[idx[k]!]!,
      });
      next++;
    }
  }
  return out;
}

function subset(d: DecisionRows, keep: (i: number) => boolean): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < d.rows; i++) if (keep(i)) out.push(i);
  return Int32Array.from(out);
}

function pick<T extends ArrayLike<number>>(a: T, idx: Int32Array): Float64Array {
  return Float64Array.from(idx, (i) => a[i]!);
}

function pickU8(a: Uint8Array, idx: Int32Array): Uint8Array {
  return Uint8Array.from(idx, (i) => a[i]!);
}

function segments(
  d: DecisionRows,
  pRaw: ArrayLike<number>,
  pCal: ArrayLike<number>,
  masks: Masks,
  modelThreshold: Uint8Array,
  ratio: number,
): SegmentReport[] {
  const defs: [string, (i: number) => boolean][] = [
    ['all', () => true],
    ['first-party', (i) => d.nodeType[i] !== 2],
    ['first-party: warehouse', (i) => d.nodeType[i] === 0],
    ['first-party: store', (i) => d.nodeType[i] === 1],
    ['third-party: seller', (i) => d.nodeType[i] === 2],
    ['hot SKU', (i) => masks.hot[i] === 1],
    ['cold SKU', (i) => masks.hot[i] === 0],
    ['fresh feed', (i) => masks.stale[i] === 0],
    ['stale feed', (i) => masks.stale[i] === 1],
  ];
  return defs.map(([segment, keep]) => {
    const idx = subset(d, keep);
    const m = idx.length;
    const y = pickU8(d.y, idx);
    const raw = pick(pRaw, idx);
    const cal = pick(pCal, idx);
    const naive = policyStats(pickU8(masks.naive, idx), y, m, ratio);
    const atNaive = policyStats(topKPolicy(raw, m, naive.promised).promise, y, m, ratio);
    let available = 0;
    for (let i = 0; i < m; i++) available += y[i]!;
    return {
      segment,
      rows: m,
      availableShare: m > 0 ? available / m : 0,
      naive,
      safetyStock: policyStats(pickU8(masks.safety, idx), y, m, ratio),
      modelAtNaiveRate: atNaive,
      modelAtThreshold: policyStats(pickU8(modelThreshold, idx), y, m, ratio),
      oversellRatioVsNaive: atNaive.oversellRate / naive.oversellRate,
      quality: m >= MIN_SEGMENT_ROWS ? quality(raw, cal, y, m) : null,
    };
  });
}

/**
 * Checkout level: each checkout promises at most one candidate, the first in
 * ETA order that passes. Naive: atp >= qty. Model: raw p >= t (the order of
 * calibrated p, without the plateaus of an isotonic map), with t searched so
 * the model promises as many checkouts as naive; and at its cost-derived
 * thresholds (calibrated p, as the sidecar decides).
 */
function routing(
  d: DecisionRows,
  pRaw: ArrayLike<number>,
  masks: Masks,
  modelThreshold: Uint8Array,
  ratio: number,
): RoutingReport {
  const starts: number[] = [];
  for (let i = 0; i < d.rows; i++) if (i === 0 || d.checkout[i] !== d.checkout[i - 1]) starts.push(i);
  starts.push(d.rows);
  const checkouts = starts.length - 1;
  const anyAvailable = new Uint8Array(checkouts);
  for (let c = 0; c < checkouts; c++) {
    for (let i = starts[c]!; i < starts[c + 1]!; i++) if (d.y[i] === 1) anyAvailable[c] = 1;
  }
  const route = (passes: (i: number) => boolean): { promise: Uint8Array; y: Uint8Array } => {
    const promise = new Uint8Array(checkouts);
    const y = new Uint8Array(checkouts);
    for (let c = 0; c < checkouts; c++) {
      y[c] = anyAvailable[c]!;
      for (let i = starts[c]!; i < starts[c + 1]!; i++) {
        if (passes(i)) {
          promise[c] = 1;
          // The checkout-level label of a promise is the chosen node's label.
          y[c] = d.y[i]!;
          break;
        }
      }
    }
    return { promise, y };
  };
  const stats = (r: { promise: Uint8Array; y: Uint8Array }): PolicyStats => {
    const s = policyStats(r.promise, r.y, checkouts, ratio);
    // "Available" is "some candidate could ship", whatever was chosen.
    let avail = 0;
    let availPromisedOk = 0;
    for (let c = 0; c < checkouts; c++) {
      if (anyAvailable[c] === 1) {
        avail++;
        if (r.promise[c] === 1 && r.y[c] === 1) availPromisedOk++;
      }
    }
    return { ...s, availablePromiseRate: avail > 0 ? availPromisedOk / avail : 0 };
  };
  const naive = stats(route((i) => masks.naive[i] === 1));
  // Promised checkouts fall as t rises: bisect for the largest t still promising as many as naive.
  let lo = 0;
  let hi = 1;
  for (let it = 0; it < 40; it++) {
    const mid = (lo + hi) / 2;
    const s = stats(route((i) => pRaw[i]! >= mid));
    if (s.promised >= naive.promised) lo = mid;
    else hi = mid;
  }
  let avail = 0;
  for (const a of anyAvailable) avail += a;
  return {
    checkouts,
    availableShare: checkouts > 0 ? avail / checkouts : 0,
    naive,
    modelAtNaiveRate: { ...stats(route((i) => pRaw[i]! >= lo)), threshold: lo },
    modelAtThreshold: stats(route((i) => modelThreshold[i] === 1)),
  };
}
