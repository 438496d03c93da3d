/**
 * The overview's figures from two scrapes of a region's targets (sidecars,
 * ingesters, the evaluation service): counters and histograms are differenced
 * per target between scrapes (a restarted target's reset counts as zero),
 * summed over the region's targets, and turned into rates, shares and
 * quantiles; gauges are read as they are. Each figure is one named number;
 * the name carries its unit and, after a colon, its label (a reason, a
 * source, an arm, a feature).
 */
import { type PromSample, sampleKey } from './prometheus-text.js';

/** One target's samples by key, as scraped. */
export type Scrape = Map<string, PromSample>;

export function indexScrape(samples: readonly PromSample[]): Scrape {
  return new Map(samples.map((s) => [sampleKey(s.name, s.labels), s]));
}

/** Increases of every cumulative sample between two scrapes of one target (first scrape: none). */
export function scrapeDelta(prev: Scrape | undefined, cur: Scrape): PromSample[] {
  if (prev === undefined) return [];
  const out: PromSample[] = [];
  for (const [k, s] of cur) {
    if (s.type !== 'counter' && s.type !== 'histogram') continue;
    const before = prev.get(k)?.value ?? 0;
    // A reset (the target restarted): its counts since the restart are the increase.
    out.push({ ...s, value: s.value >= before ? s.value - before : s.value });
  }
  return out;
}

/** The q-quantile of a cumulative histogram given as (le, count) pairs; null without observations. */
export function histogramQuantile(
  q: number,
  buckets: readonly { le: number; count: number }[],
): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      // Beyond the last finite bound Prometheus answers that bound; so do we.
      if (!Number.isFinite(b.le)) return lowerLe;
      const inBucket = b.count - lowerCount;
      return inBucket <= 0 ? b.le : lowerLe + ((b.le - lowerLe) * (rank - lowerCount)) / inBucket;
    }
    lowerLe = b.le;
    lowerCount = b.count;
  }
  return lowerLe;
}

const sum = (xs: readonly PromSample[]) => xs.reduce((a, s) => a + s.value, 0);

function byLabel(xs: readonly PromSample[], label: string): Map<string, PromSample[]> {
  const m = new Map<string, PromSample[]>();
  for (const s of xs) {
    const v = s.labels[label] ?? '';
    m.set(v, [...(m.get(v) ?? []), s]);
  }
  return m;
}

/** Quantile of a histogram family's bucket increases, summed over every other label. */
function quantileOf(deltas: readonly PromSample[], q: number): number | null {
  const byLe = new Map<number, number>();
  for (const s of deltas) {
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return histogramQuantile(
    q,
    [...byLe].map(([le, count]) => ({ le, count })),
  );
}

/** Decisions counted in a set of counter increases. */
export function decisionsIn(deltas: readonly PromSample[]): number {
  return sum(named(deltas, 'atp_decisions_total'));
}

const named = (xs: readonly PromSample[], name: string) => xs.filter((s) => s.name === name);

/** Evaluation rates published by the evaluation service, and the figure each becomes. */
const EVALUATION_RATES: Record<string, string> = {
  promiseRate: 'promise_rate',
  oversellRate: 'oversell_rate',
};

/**
 * The figures of one region over one scrape tick: `decisionsPerS` the sum
 * of its targets' rates (each over its own interval; null: no target had a
 * previous scrape), `deltas` the increases of its targets' counters, `current` their
 * samples as scraped (gauges; `decisions_total`, the decisions its targets
 * counted since they started). A figure without data (no decision in the
 * interval) is absent.
 */
export function overviewFigures(
  region: string,
  deltas: readonly PromSample[],
  current: readonly PromSample[],
  decisionsPerS: number | null,
): Record<string, number> {
  const f: Record<string, number> = {};
  const gauges = current.filter((s) => s.type === 'gauge');
  const decisionsSoFar = named(current, 'atp_decisions_total');
  if (decisionsSoFar.length > 0) f.decisions_total = sum(decisionsSoFar);
  const decisions = decisionsIn(deltas);
  if (decisionsPerS !== null) f.decisions_per_s = decisionsPerS;
  const latency = named(deltas, 'atp_decision_seconds_bucket');
  const p50 = quantileOf(latency, 0.5);
  const p99 = quantileOf(latency, 0.99);
  if (p50 !== null) f.latency_p50_ms = p50 * 1_000;
  if (p99 !== null) f.latency_p99_ms = p99 * 1_000;
  if (decisions > 0) {
    for (const [reason, xs] of byLabel(named(deltas, 'atp_degradations_total'), 'degradation'))
      f[`degraded_share:${reason}`] = sum(xs) / decisions;
  }
  for (const [source, xs] of byLabel(named(deltas, 'atp_ingest_event_age_seconds_bucket'), 'source')) {
    const p99s = quantileOf(xs, 0.99);
    if (p99s !== null) f[`freshness_p99_s:${source}`] = p99s;
  }
  const lagS = named(gauges, 'atp_ingest_consumer_lag_seconds');
  if (lagS.length > 0) f.ingest_lag_s = Math.max(...lagS.map((s) => s.value));
  const lagRecords = named(gauges, 'atp_ingest_group_lag_records');
  if (lagRecords.length > 0) f.ingest_lag_records = Math.max(...lagRecords.map((s) => s.value));
  for (const s of named(gauges, 'atp_evaluation_rate')) {
    const figure = EVALUATION_RATES[s.labels.rate ?? ''];
    if (figure === undefined || (s.labels.region !== undefined && s.labels.region !== region)) continue;
    f[`${figure}:${s.labels.arm ?? 'none'}`] = s.value;
  }
  for (const s of named(gauges, 'atp_drift_psi')) {
    const key = `psi:${s.labels.feature ?? '?'}`;
    f[key] = Math.max(f[key] ?? 0, s.value);
  }
  return f;
}
