/**
 * Crafted decision and outcome streams for the outcome-join tests, and the
 * batch recomputation the streaming join must agree with: a direct count over
 * the de-duplicated logs (no windows state, no offsets), written
 * independently of evaluation/src/join.
 */
import { AGGREGATE_COLUMNS, type AggregateCounts } from '../../../evaluation/src/join/join-counts.js';
import type { RecordBatch } from '../../../evaluation/src/join/outcome-join.js';
import type { ReportRow } from '../../../evaluation/src/report/evaluation-report.js';
import { Prng } from '../../../platform/src/prng.js';
import {
  type DecisionEvent,
  type DecisionEventItem,
  encodeDecisionEvent,
} from '../../../proto/v1/decision-event.js';
import { encodeOutcome, type OrderOutcome, type OutcomeStatus } from '../../../proto/v1/order-outcome.js';
import { encodeStockTruth, type StockTruth } from '../../../proto/v1/stock-truth.js';

export const T0 = 1_767_571_200_000;
export const MIN = 60_000;
export const REGION = 'eu-west';

export function item(
  sku: string,
  promised: boolean,
  over: Partial<DecisionEventItem> = {},
): DecisionEventItem {
  const nodeType = over.nodeType ?? 'warehouse';
  return {
    sku,
    qty: 1,
    hot: false,
    promised,
    node: nodeType === 'none' ? '' : `N-${nodeType}`,
    nodeType,
    pFulfill: 0.9,
    modelAvailable: promised,
    baselineAvailable: promised,
    ...over,
  };
}

export function decision(
  id: string,
  tsMs: number,
  items: DecisionEventItem[],
  over: Partial<DecisionEvent> = {},
): DecisionEvent {
  return {
    decisionId: id,
    region: REGION,
    tsMs,
    channel: 'checkout',
    mode: 'enforce',
    enforced: 'model',
    arm: 'champion',
    modelVersion: 'm1',
    rulesVersion: 'r1',
    degradations: [],
    items,
    ...over,
  };
}

export function outcome(
  d: DecisionEvent,
  sku: string,
  status: OutcomeStatus,
  resolvedAtMs: number,
  onTime = status === 'fulfilled',
): OrderOutcome {
  const qty = d.items.find((i) => i.sku === sku)?.qty ?? 1;
  return {
    outcomeId: `${d.decisionId}:${sku}`,
    decisionId: d.decisionId,
    region: d.region,
    sku,
    node: 'N-x',
    qty,
    status,
    unitsPicked: status === 'fulfilled' ? qty : 0,
    promisedAtMs: d.tsMs,
    dueAtMs: d.tsMs + 20 * MIN,
    resolvedAtMs,
    onTime,
  };
}

export function truth(d: DecisionEvent, sku: string, available: boolean): StockTruth {
  return { decisionId: d.decisionId, region: d.region, sku, qty: 1, available, decidedAtMs: d.tsMs };
}

/** One line of either stream, in arrival order. */
export type StreamLine =
  | { stream: 'decisions'; text: string; key: string }
  | { stream: 'outcomes'; text: string; key: string };

export const dLine = (d: DecisionEvent): StreamLine => ({
  stream: 'decisions',
  text: encodeDecisionEvent(d),
  key: d.decisionId,
});
export const oLine = (o: OrderOutcome): StreamLine => ({
  stream: 'outcomes',
  text: encodeOutcome(o),
  key: o.decisionId,
});
export const tLine = (s: StockTruth): StreamLine => ({
  stream: 'outcomes',
  text: encodeStockTruth(s),
  key: s.decisionId,
});

export interface World {
  decisions: DecisionEvent[];
  outcomes: OrderOutcome[];
  truths: StockTruth[];
}

/**
 * A seeded world: `n` decisions one `stepMs` apart, 1-3 items each across
 * arms, node types, hotness, channels and degradation; promised items get an
 * outcome (or none), every item a stock truth.
 */
export function randomWorld(n: number, seed: number, stepMs = 20_000): World {
  const rnd = new Prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[rnd.index(xs.length)] as T;
  const w: World = { decisions: [], outcomes: [], truths: [] };
  for (let i = 0; i < n; i++) {
    const items: DecisionEventItem[] = [];
    const count = 1 + rnd.index(3);
    for (let k = 0; k < count; k++) {
      const promised = rnd.float() < 0.75;
      const nodeType = promised
        ? pick(['warehouse', 'store', 'seller'] as const)
        : pick(['warehouse', 'seller', 'none'] as const);
      items.push(item(`S${i}-${k}`, promised, { nodeType, hot: rnd.float() < 0.3 }));
    }
    const d = decision(`d-${seed}-${i}`, T0 + i * stepMs, items, {
      arm: pick(['champion', 'challenger']),
      modelVersion: pick(['m1', 'm2']),
      channel: rnd.float() < 0.8 ? 'checkout' : 'browse',
      degradations: rnd.float() < 0.15 ? ['stale-node'] : [],
    });
    w.decisions.push(d);
    for (const it of items) {
      w.truths.push(truth(d, it.sku, rnd.float() < 0.8));
      if (!it.promised || rnd.float() < 0.1) continue;
      const u = rnd.float();
      const status: OutcomeStatus =
        u < 0.75
          ? 'fulfilled'
          : u < 0.87
            ? 'short-picked'
            : u < 0.94
              ? 'cancelled-buyer'
              : 'cancelled-seller';
      w.outcomes.push(
        outcome(
          d,
          it.sku,
          status,
          d.tsMs + (1 + rnd.index(30)) * MIN,
          status === 'fulfilled' && rnd.float() < 0.9,
        ),
      );
    }
  }
  return w;
}

/** The world's records in event-time order (a decision, its truths, then outcomes as they resolve). */
export function orderedLines(w: World): StreamLine[] {
  const timed: { t: number; seq: number; line: StreamLine }[] = [];
  let seq = 0;
  for (const d of w.decisions) timed.push({ t: d.tsMs, seq: seq++, line: dLine(d) });
  for (const s of w.truths) timed.push({ t: s.decidedAtMs, seq: seq++, line: tLine(s) });
  for (const o of w.outcomes) timed.push({ t: o.resolvedAtMs, seq: seq++, line: oLine(o) });
  timed.sort((a, b) => a.t - b.t || a.seq - b.seq);
  return timed.map((x) => x.line);
}

/** Batch recomputation: per segment key (region|arm|model|node|hot|channel|degraded) the counts, all windows closed. */
export function recompute(w: World, horizonMs: number): Map<string, AggregateCounts> {
  const out = new Map<string, AggregateCounts>();
  const outcomes = new Map(w.outcomes.map((o) => [`${o.decisionId}:${o.sku}`, o]));
  const truths = new Map(w.truths.map((s) => [`${s.decisionId}:${s.sku}`, s]));
  for (const d of w.decisions) {
    for (const it of d.items) {
      const key = [
        d.region,
        d.arm,
        d.modelVersion,
        it.nodeType,
        it.hot ? 'hot' : 'cold',
        d.channel,
        d.degradations.length > 0 ? 'degraded' : 'healthy',
      ].join('|');
      let c = out.get(key);
      if (c === undefined) {
        c = Object.fromEntries(AGGREGATE_COLUMNS.map((k) => [k, 0])) as AggregateCounts;
        out.set(key, c);
      }
      c.requested++;
      const s = truths.get(`${d.decisionId}:${it.sku}`);
      if (s !== undefined) {
        c.truth_known++;
        if (s.available) c.truth_available++;
        if (!it.promised) {
          c.denied_truth++;
          if (s.available) c.false_denied++;
        }
      }
      if (!it.promised) continue;
      c.promised++;
      const o = outcomes.get(`${d.decisionId}:${it.sku}`);
      if (o === undefined || o.resolvedAtMs > d.tsMs + horizonMs) {
        c.unresolved++;
        continue;
      }
      c.outcomes++;
      if (o.status === 'fulfilled') {
        c.fulfilled++;
        if (o.onTime) c.on_time++;
      } else if (o.status === 'short-picked') c.short_picked++;
      else if (o.status === 'cancelled-buyer') c.cancelled_buyer++;
      else c.cancelled_seller++;
    }
  }
  return out;
}

/** The report's segment rows in the same keyed form as `recompute`. */
export function segmentsByKey(rows: readonly ReportRow[]): Map<string, AggregateCounts> {
  const out = new Map<string, AggregateCounts>();
  for (const r of rows) {
    if (r.segment === null) continue;
    const s = r.segment;
    out.set(
      [r.region, r.arm, r.modelVersion, s.nodeType, s.hotness, s.channel, s.degraded].join('|'),
      r.counts,
    );
  }
  return out;
}

/** Sorted plain object of a keyed count map (for t.same with readable diffs). */
export function plain(m: Map<string, AggregateCounts>): Record<string, AggregateCounts> {
  return Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));
}

/** Wilson score interval written out here (not imported) for the hand-computed expectations. */
export function wilson95(x: number, n: number): { rate: number; lower: number; upper: number } {
  const z = 1.959963984540054;
  const p = x / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + z2n / (4 * n));
  return { rate: p, lower: x === 0 ? 0 : centre - half, upper: x === n ? 1 : centre + half };
}

/** Lines -> batches of up to `size` consecutive same-stream lines; offsets = position within the stream. */
export function batches(lines: readonly StreamLine[], size: number): RecordBatch[] {
  const next = { decisions: 0, outcomes: 0 };
  const out: RecordBatch[] = [];
  for (const l of lines) {
    const last = out.at(-1);
    const rec = { offset: next[l.stream]++, key: l.key, value: l.text };
    if (last !== undefined && last.stream === l.stream && last.records.length < size) {
      (last.records as { offset: number; key: string | null; value: string }[]).push(rec);
    } else {
      out.push({
        stream: l.stream,
        source: l.stream === 'decisions' ? 'atp.decisions.eu-west' : 'order.outcomes.eu-west',
        partition: 0,
        records: [rec],
      });
    }
  }
  return out;
}
