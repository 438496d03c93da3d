/**
 * The business-impact report (issue 13 item 5): per region x arm, and per
 * segment, each figure of the join with its Wilson interval; each arm against
 * the control arm with the Newcombe interval of the difference, the
 * always-valid mSPRT p-value and confidence sequence (safe to read while the
 * experiment runs), CUPED where a pre-period exists; the sample-ratio check
 * on decisions per arm; and the money view from unit economics.
 *
 * CUPED here: the unit is the item, its covariate X the pre-period rate of
 * its segment (node type x hotness x channel x degraded) for the same
 * figure. The decision stream carries no buyer-level key (DESIGN §7), so the
 * finest pre-period covariate the store can give is a segment's; CUPED with
 * it removes the noise of a chance imbalance of segment mix between arms
 * (it is post-stratification written as a regression). The pre-period is a
 * second store (`--pre-db`) or, by default, the `none` arm of the same store
 * (decisions made before the experiment started).
 *
 * The money view (money-view.ts) prices the counts with unit economics.
 */
import { AtpError } from '@mercato/platform/errors';
import { NO_ARM } from '@mercato/proto/v1/decision-event';
import { EVALUATION_ERR } from '../evaluation-errors.js';
import { AGGREGATE_COLUMNS, type AggregateCounts, emptyCounts } from '../join/join-counts.js';
import type { AggregateRow, ArmDecisions } from '../join/sqlite-join-store.js';
import { cupedDifference } from '../stats/cuped.js';
import { mergeMoments, type PairedMoments } from '../stats/paired-moments.js';
import { rateDifferenceInterval } from '../stats/rate-difference-interval.js';
import { DEFAULT_SRM_ALPHA, type SrmResult, sampleRatioMismatch } from '../stats/sample-ratio-mismatch.js';
import { DEFAULT_SEQUENTIAL_ALPHA, twoProportionMsprt } from '../stats/two-proportion-msprt.js';
import { DEFAULT_CONFIDENCE } from '../stats/wilson-interval.js';
import { type EvaluationRates, ratesOf } from './evaluation-report.js';
import {
  DEFAULT_ECONOMICS,
  type MoneyView,
  moneyView,
  type UnitEconomics,
  valuePerItem,
} from './money-view.js';

export { DEFAULT_ECONOMICS, type MoneyView, type UnitEconomics, valuePerItem };

export const BUSINESS_IMPACT_SCHEMA = 'atp.business-impact.v1';

/** When no --control-arm is given, the first of these present is the control. */
export const CONTROL_ARM_PREFERENCE = ['control', 'naive', 'baseline', 'champion'] as const;

export const METRICS = [
  'promiseRate',
  'oversellRate',
  'fulfilmentReliability',
  'conversionProxy',
  'falseDenialRate',
] as const;
export type Metric = (typeof METRICS)[number];
/** Which way is better, for the report's verdict colours. */
export const HIGHER_IS_BETTER: Record<Metric, boolean> = {
  promiseRate: true,
  oversellRate: false,
  fulfilmentReliability: true,
  conversionProxy: true,
  falseDenialRate: false,
};

export interface SegmentKey {
  nodeType: string;
  hotness: string;
  channel: string;
  degraded: string;
}

export interface ArmFigures {
  region: string;
  arm: string;
  /** null: every segment of the arm. */
  segment: SegmentKey | null;
  counts: AggregateCounts;
  rates: EvaluationRates;
  /** Net value per requested item under the unit economics; null with no requested item. */
  valuePerItem: number | null;
}

export interface MetricComparison {
  metric: Metric;
  /** treatment - control, Newcombe interval at the report's confidence; null when an arm has no trials. */
  difference: { estimate: number; lower: number; upper: number } | null;
  /** Always-valid (mSPRT) p-value and confidence sequence at alpha; null when an arm has no trials. */
  sequential: { pValue: number; lower: number; upper: number; rejected: boolean } | null;
  /** CUPED-adjusted difference (roll-ups with a pre-period only). */
  cuped: {
    estimate: number;
    lower: number;
    upper: number;
    theta: number;
    varianceReduction: number;
  } | null;
}

export interface ArmComparison {
  region: string;
  arm: string;
  controlArm: string;
  segment: SegmentKey | null;
  metrics: MetricComparison[];
  money: MoneyView | null;
}

export interface SrmCheck {
  region: string;
  arms: string[];
  decisions: number[];
  expectedShares: number[];
  result: SrmResult | null;
}

export interface BusinessImpactReport {
  schema: typeof BUSINESS_IMPACT_SCHEMA;
  confidence: number;
  alpha: number;
  srmAlpha: number;
  economics: UnitEconomics;
  /** Where the CUPED covariates came from: 'pre-db', 'none-arm' or null (no CUPED). */
  prePeriod: 'pre-db' | 'none-arm' | null;
  controlArm: Record<string, string>;
  arms: ArmFigures[];
  segments: ArmFigures[];
  comparisons: ArmComparison[];
  srm: SrmCheck[];
}

export interface BusinessImpactOptions {
  confidence?: number;
  alpha?: number;
  controlArm?: string;
  /** arm -> share for the SRM check; default equal shares over the compared arms. */
  expectedShares?: Record<string, number>;
  economics?: UnitEconomics;
  /** Aggregates of a pre-period store; absent: the `none` arm of `rows`, if any. */
  preRows?: readonly AggregateRow[];
}

/** Successes and trials of each figure, from counts (the same definitions as the join report). */
export function metricCounts(c: AggregateCounts, m: Metric): { successes: number; trials: number } {
  switch (m) {
    case 'promiseRate':
      return { successes: c.promised, trials: c.requested };
    case 'oversellRate':
      return { successes: c.short_picked, trials: c.fulfilled + c.short_picked };
    case 'fulfilmentReliability':
      return { successes: c.on_time, trials: c.outcomes - c.cancelled_buyer };
    case 'conversionProxy':
      return { successes: c.fulfilled, trials: c.requested };
    case 'falseDenialRate':
      return { successes: c.false_denied, trials: c.denied_truth };
  }
}

export function buildBusinessImpact(
  rows: readonly AggregateRow[],
  armDecisions: readonly ArmDecisions[],
  options: BusinessImpactOptions = {},
): BusinessImpactReport {
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  const alpha = options.alpha ?? DEFAULT_SEQUENTIAL_ALPHA;
  const economics = options.economics ?? DEFAULT_ECONOMICS;
  // Outside any experiment (every arm `none`) the report still shows the figures; otherwise
  // the `none` arm is the pre-period, not an arm.
  const onlyNone = rows.every((r) => r.arm === NO_ARM);
  const experimentRows = onlyNone ? rows : rows.filter((r) => r.arm !== NO_ARM);
  const preRows = options.preRows ?? (onlyNone ? [] : rows.filter((r) => r.arm === NO_ARM));
  const prePeriod = options.preRows !== undefined ? 'pre-db' : preRows.length > 0 ? 'none-arm' : null;

  const arms = group(experimentRows, false, economics, confidence);
  const segments = group(experimentRows, true, economics, confidence);
  const controlArm: Record<string, string> = {};
  for (const region of new Set(arms.map((a) => a.region))) {
    const present = arms.filter((a) => a.region === region).map((a) => a.arm);
    controlArm[region] = chooseControl(present, options.controlArm, region);
  }
  const pre = prePeriod === null ? null : preRates(preRows);
  const comparisons: ArmComparison[] = [];
  for (const list of [arms, segments]) {
    for (const t of list) {
      const control = controlArm[t.region];
      if (t.arm === control) continue;
      const c = list.find(
        (x) => x.region === t.region && x.arm === control && sameSegment(x.segment, t.segment),
      );
      if (c === undefined) continue;
      const cupedRows =
        pre !== null && t.segment === null
          ? {
              t: experimentRows.filter((r) => r.region === t.region && r.arm === t.arm),
              c: experimentRows.filter((r) => r.region === t.region && r.arm === control),
            }
          : null;
      comparisons.push({
        region: t.region,
        arm: t.arm,
        controlArm: c.arm,
        segment: t.segment,
        metrics: METRICS.map((m) => compareMetric(m, t.counts, c.counts, confidence, alpha, cupedRows, pre)),
        money: moneyView(t.counts, c.counts, economics, confidence),
      });
    }
  }
  return {
    schema: BUSINESS_IMPACT_SCHEMA,
    confidence,
    alpha,
    srmAlpha: DEFAULT_SRM_ALPHA,
    economics,
    prePeriod,
    controlArm,
    arms,
    segments,
    comparisons,
    srm: srmChecks(arms, armDecisions, options.expectedShares),
  };
}

function chooseControl(present: readonly string[], wanted: string | undefined, region: string): string {
  if (wanted !== undefined) {
    if (!present.includes(wanted)) {
      throw new AtpError(
        EVALUATION_ERR.INVALID_PARAMETER,
        `controlArm: "${wanted}" has no decisions in region ${region} (arms: ${present.join(', ')})`,
        'controlArm',
      );
    }
    return wanted;
  }
  return CONTROL_ARM_PREFERENCE.find((a) => present.includes(a)) ?? [...present].sort()[0] ?? '';
}

function sameSegment(a: SegmentKey | null, b: SegmentKey | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.nodeType === b.nodeType &&
    a.hotness === b.hotness &&
    a.channel === b.channel &&
    a.degraded === b.degraded
  );
}

function segmentOf(r: AggregateRow): SegmentKey {
  return { nodeType: r.nodeType, hotness: r.hotness, channel: r.channel, degraded: r.degraded };
}

function segmentId(s: SegmentKey): string {
  return `${s.nodeType}/${s.hotness}/${s.channel}/${s.degraded}`;
}

/** Sums rows per region x arm (over model versions), or per region x arm x segment. */
function group(
  rows: readonly AggregateRow[],
  bySegment: boolean,
  e: UnitEconomics,
  confidence: number,
): ArmFigures[] {
  const out = new Map<string, ArmFigures>();
  for (const r of rows) {
    const seg = bySegment ? segmentOf(r) : null;
    const key = `${r.region}\t${r.arm}\t${seg === null ? '' : segmentId(seg)}`;
    let f = out.get(key);
    if (f === undefined) {
      f = {
        region: r.region,
        arm: r.arm,
        segment: seg,
        counts: emptyCounts(),
        rates: ratesOf(emptyCounts()),
        valuePerItem: null,
      };
      out.set(key, f);
    }
    for (const c of AGGREGATE_COLUMNS) f.counts[c] += r[c];
  }
  const list = [...out.values()].sort(
    (a, b) =>
      a.region.localeCompare(b.region) ||
      a.arm.localeCompare(b.arm) ||
      (a.segment === null || b.segment === null
        ? 0
        : segmentId(a.segment).localeCompare(segmentId(b.segment))),
  );
  for (const f of list) {
    f.rates = ratesOf(f.counts, confidence);
    f.valuePerItem = valuePerItem(f.counts, e);
  }
  return list;
}

type PreRates = Map<string, Record<Metric, number | null>>;

/** Pre-period rate of each figure per region x segment, and per region ('region\t*') as the fallback. */
function preRates(rows: readonly AggregateRow[]): PreRates {
  const sums = new Map<string, AggregateCounts>();
  for (const r of rows) {
    for (const key of [`${r.region}\t${segmentId(segmentOf(r))}`, `${r.region}\t*`]) {
      let c = sums.get(key);
      if (c === undefined) {
        c = emptyCounts();
        sums.set(key, c);
      }
      for (const col of AGGREGATE_COLUMNS) c[col] += r[col];
    }
  }
  const out: PreRates = new Map();
  for (const [key, c] of sums) {
    const rates = {} as Record<Metric, number | null>;
    for (const m of METRICS) {
      const { successes, trials } = metricCounts(c, m);
      rates[m] = trials === 0 ? null : successes / trials;
    }
    out.set(key, rates);
  }
  return out;
}

/** An arm's (Y = success, X = its segment's pre-period rate) moments over its items, from segment counts. */
function armMoments(rows: readonly AggregateRow[], m: Metric, pre: PreRates): PairedMoments | null {
  let acc: PairedMoments = { count: 0, meanY: 0, meanX: 0, squaresY: 0, squaresX: 0, products: 0 };
  for (const r of rows) {
    const { successes: s, trials: n } = metricCounts(r, m);
    if (n === 0) continue;
    const x = pre.get(`${r.region}\t${segmentId(segmentOf(r))}`)?.[m] ?? pre.get(`${r.region}\t*`)?.[m];
    if (x === null || x === undefined) return null;
    // Every item of the segment shares x: no spread in x inside it, and Y is 0/1.
    acc = mergeMoments(acc, {
      count: n,
      meanY: s / n,
      meanX: x,
      squaresY: s - (s * s) / n,
      squaresX: 0,
      products: 0,
    });
  }
  return acc;
}

function compareMetric(
  m: Metric,
  t: AggregateCounts,
  c: AggregateCounts,
  confidence: number,
  alpha: number,
  cupedRows: { t: AggregateRow[]; c: AggregateRow[] } | null,
  pre: PreRates | null,
): MetricComparison {
  const tc = metricCounts(t, m);
  const cc = metricCounts(c, m);
  if (tc.trials === 0 || cc.trials === 0)
    return { metric: m, difference: null, sequential: null, cuped: null };
  const d = rateDifferenceInterval(tc, cc, confidence);
  const s = twoProportionMsprt(tc, cc, { alpha });
  let cuped: MetricComparison['cuped'] = null;
  if (cupedRows !== null && pre !== null) {
    const tm = armMoments(cupedRows.t, m, pre);
    const cm = armMoments(cupedRows.c, m, pre);
    if (tm !== null && cm !== null && tm.count >= 2 && cm.count >= 2) {
      const k = cupedDifference(tm, cm, confidence);
      cuped = {
        estimate: k.estimate,
        lower: k.lower,
        upper: k.upper,
        theta: k.theta,
        varianceReduction: k.varianceReduction,
      };
    }
  }
  return {
    metric: m,
    difference: { estimate: d.estimate, lower: d.lower, upper: d.upper },
    sequential: { pValue: s.pValue, lower: s.lower, upper: s.upper, rejected: s.rejected },
    cuped,
  };
}

function srmChecks(
  arms: readonly ArmFigures[],
  armDecisions: readonly ArmDecisions[],
  expected: Record<string, number> | undefined,
): SrmCheck[] {
  const out: SrmCheck[] = [];
  for (const region of [...new Set(arms.map((a) => a.region))].sort()) {
    const names = arms.filter((a) => a.region === region).map((a) => a.arm);
    const decisions = names.map(
      (n) => armDecisions.find((d) => d.region === region && d.arm === n)?.decisions ?? 0,
    );
    const raw = names.map((n) => {
      if (expected === undefined) return 1;
      const share = expected[n];
      if (share === undefined) {
        throw new AtpError(
          EVALUATION_ERR.INVALID_PARAMETER,
          `expectedShares: none for arm "${n}" of region ${region} (give every arm: ${names.join(', ')})`,
          'expectedShares',
        );
      }
      return share;
    });
    const total = raw.reduce((a, b) => a + b, 0);
    const shares = raw.map((x) => (total > 0 ? x / total : 0));
    const usable = names.length >= 2 && shares.every((s) => s > 0) && decisions.some((n) => n > 0);
    out.push({
      region,
      arms: names,
      decisions,
      expectedShares: shares,
      result: usable ? sampleRatioMismatch(decisions, shares) : null,
    });
  }
  return out;
}
