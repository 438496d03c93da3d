/**
 * The read model of the outcome join: per segment and rolled up per region x
 * arm x model version, the counts and five rates with Wilson intervals
 * (src/stats). Definitions (also in evaluation/README.md):
 *
 * - promise rate = promised / requested items;
 * - realized oversell rate = short-picked / picked (fulfilled + short-picked):
 *   of the promises put to the test of a pick, the share the node could not
 *   ship; cancellations say nothing about stock and are left out;
 * - fulfilment reliability = fulfilled on time / outcomes not cancelled by the
 *   buyer: of the promises the buyer kept, the share shipped on time;
 * - conversion proxy = fulfilled / requested items: a sale that shipped per
 *   item asked for, which both a needless denial and an oversell lower;
 * - false-denial rate = denied with stock truly there / denied items with a
 *   stock truth; null (not 0) when no truth arrived (only simulated worlds
 *   publish truths).
 *
 * A rate whose denominator is 0 is null with no interval.
 */
import { AtpError } from '@mercato/platform/errors';
import { type CalibrationFigure, calibrationFigures } from '../calibration/calibration-figures.js';
import { EVALUATION_ERR } from '../evaluation-errors.js';
import {
  AGGREGATE_COLUMNS,
  type AggregateCounts,
  emptyCounts,
  type JoinCounter,
} from '../join/join-counts.js';
import type { AggregateRow, SqliteJoinStore } from '../join/sqlite-join-store.js';
import { DEFAULT_CONFIDENCE, wilsonInterval } from '../stats/wilson-interval.js';

export const REPORT_SCHEMA = 'atp.evaluation-report.v1';

export interface RateFigure {
  successes: number;
  trials: number;
  /** null when trials = 0. */
  rate: number | null;
  lower: number | null;
  upper: number | null;
}

export interface EvaluationRates {
  promiseRate: RateFigure;
  oversellRate: RateFigure;
  fulfilmentReliability: RateFigure;
  conversionProxy: RateFigure;
  falseDenialRate: RateFigure;
}

export interface ReportRow {
  region: string;
  arm: string;
  modelVersion: string;
  /** Absent in a roll-up row (all segments of region x arm x model version). */
  segment: { nodeType: string; hotness: string; channel: string; degraded: string } | null;
  counts: AggregateCounts;
  rates: EvaluationRates;
}

export interface EvaluationReport {
  schema: typeof REPORT_SCHEMA;
  confidence: number;
  watermarkMs: number;
  pendingDecisions: number;
  pendingOrphans: number;
  counters: Record<JoinCounter, number>;
  totals: ReportRow[];
  segments: ReportRow[];
  /** Online calibration of model promises per region x model version, and the estimate for pending ones. */
  calibration: CalibrationFigure[];
}

export interface ReportFilter {
  region?: string;
  arm?: string;
  confidence?: number;
}

export function rateFigure(successes: number, trials: number, confidence: number): RateFigure {
  if (trials === 0) return { successes, trials, rate: null, lower: null, upper: null };
  const i = wilsonInterval(successes, trials, confidence);
  return { successes, trials, rate: i.estimate, lower: i.lower, upper: i.upper };
}

export function ratesOf(c: AggregateCounts, confidence = DEFAULT_CONFIDENCE): EvaluationRates {
  return {
    promiseRate: rateFigure(c.promised, c.requested, confidence),
    oversellRate: rateFigure(c.short_picked, c.fulfilled + c.short_picked, confidence),
    fulfilmentReliability: rateFigure(c.on_time, c.outcomes - c.cancelled_buyer, confidence),
    conversionProxy: rateFigure(c.fulfilled, c.requested, confidence),
    falseDenialRate: rateFigure(c.false_denied, c.denied_truth, confidence),
  };
}

/** Reads the store into a report (one read; the join may keep writing meanwhile in WAL mode). */
export function buildReport(store: SqliteJoinStore, filter: ReportFilter = {}): EvaluationReport {
  const confidence = filter.confidence ?? DEFAULT_CONFIDENCE;
  if (!(confidence > 0 && confidence < 1)) {
    throw new AtpError(
      EVALUATION_ERR.INVALID_PARAMETER,
      `confidence: must be in (0, 1), got ${confidence}`,
      'confidence',
    );
  }
  const rows = store
    .aggregates()
    .filter(
      (r) =>
        (filter.region === undefined || r.region === filter.region) &&
        (filter.arm === undefined || r.arm === filter.arm),
    );
  const totals = new Map<string, { row: AggregateRow; counts: AggregateCounts }>();
  const segments: ReportRow[] = [];
  for (const r of rows) {
    const counts = countsOf(r);
    segments.push({
      region: r.region,
      arm: r.arm,
      modelVersion: r.modelVersion,
      segment: { nodeType: r.nodeType, hotness: r.hotness, channel: r.channel, degraded: r.degraded },
      counts,
      rates: ratesOf(counts, confidence),
    });
    const key = `${r.region}\t${r.arm}\t${r.modelVersion}`;
    let t = totals.get(key);
    if (t === undefined) {
      t = { row: r, counts: emptyCounts() };
      totals.set(key, t);
    }
    for (const c of AGGREGATE_COLUMNS) t.counts[c] += counts[c];
  }
  return {
    schema: REPORT_SCHEMA,
    confidence,
    watermarkMs: store.watermarkMs(),
    pendingDecisions: store.pendingDecisions(),
    pendingOrphans: store.pendingOrphans(),
    counters: store.counters(),
    totals: [...totals.values()].map(({ row, counts }) => ({
      region: row.region,
      arm: row.arm,
      modelVersion: row.modelVersion,
      segment: null,
      counts,
      rates: ratesOf(counts, confidence),
    })),
    segments,
    calibration: calibrationFigures(store).filter(
      (c) => filter.region === undefined || c.region === filter.region,
    ),
  };
}

function countsOf(r: AggregateRow): AggregateCounts {
  const c = emptyCounts();
  for (const k of AGGREGATE_COLUMNS) c[k] = r[k];
  return c;
}

/** A plain-text table of the roll-ups and segments (what `atp-evaluate report` prints without --json). */
export function formatReport(r: EvaluationReport): string {
  const pct = (f: RateFigure) =>
    f.rate === null
      ? '-'
      : `${(f.rate * 100).toFixed(2)}% [${((f.lower ?? 0) * 100).toFixed(2)}, ${((f.upper ?? 0) * 100).toFixed(2)}]`;
  const header = [
    'region',
    'arm',
    'model',
    'segment',
    'items',
    'promise',
    'oversell',
    'reliability',
    'conversion',
    'false-denial',
  ];
  const line = (x: ReportRow) => [
    x.region,
    x.arm,
    x.modelVersion,
    x.segment === null
      ? 'ALL'
      : `${x.segment.nodeType}/${x.segment.hotness}/${x.segment.channel}/${x.segment.degraded}`,
    String(x.counts.requested),
    pct(x.rates.promiseRate),
    pct(x.rates.oversellRate),
    pct(x.rates.fulfilmentReliability),
    pct(x.rates.conversionProxy),
    pct(x.rates.falseDenialRate),
  ];
  const table = [header, ...r.totals.map(line), ...r.segments.map(line)];
  const widths = header.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  const text = table.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  const counters = Object.entries(r.counters)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
  return `${text.join('\n')}\n\nintervals: Wilson ${Math.round(r.confidence * 100)}%; watermark ${r.watermarkMs}; pending decisions ${r.pendingDecisions}, orphans ${r.pendingOrphans}\n${counters === '' ? '' : `${counters}\n`}${calibrationLines(r.calibration)}`;
}

/** Online calibration per region x model version: realized vs expected, ECE, and the estimate for pending promises. */
function calibrationLines(figures: readonly CalibrationFigure[]): string {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  return figures
    .map((f) => {
      const r = f.resolved;
      const resolved =
        r.n === 0
          ? 'no resolved model promise yet'
          : `${r.n} resolved: oversell ${pct(r.realizedFailureRate)} realized vs ${pct(r.expectedFailureRate)} expected, ECE ${r.ece.toFixed(4)}${r.hosmerLemeshow === null ? '' : `, HL p=${r.hosmerLemeshow.pValue.toPrecision(3)}`}${r.alarm ? ' CALIBRATION ALARM' : ''}`;
      const pending =
        f.pending.estimatedOversellRate === null
          ? ''
          : `; ${f.pending.promises} pending: ${pct(f.pending.estimatedOversellRate)} estimated`;
      return `calibration ${f.region} ${f.modelVersion}: ${resolved}${pending}\n`;
    })
    .join('');
}
