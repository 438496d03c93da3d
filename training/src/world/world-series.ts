/**
 * The closed-loop world's per-minute series (the report's charts): per
 * simulated minute of the live phase, the checkouts, promises, short picks,
 * degraded answers and errors; and every answer's latency.
 */
import type { DecisionRecord } from './world-tally.js';

const MS_PER_MIN = 60_000;

/** One simulated minute of the live phase. */
export interface MinutePoint {
  /** Minutes since the live phase began. */
  minute: number;
  checkouts: number;
  promised: number;
  shortPicked: number;
  degraded: number;
  errors: number;
}

export interface WorldSeries {
  minutes: MinutePoint[];
  /** Answer latencies (wall ms), sorted: the CDF's x values. */
  latenciesMs: number[];
}

export function worldSeries(decisions: Iterable<Readonly<DecisionRecord>>, liveFromMs: number): WorldSeries {
  const minutes = new Map<number, MinutePoint>();
  const latencies: number[] = [];
  for (const d of decisions) {
    const minute = Math.floor((d.checkoutAtMs - liveFromMs) / MS_PER_MIN);
    let p = minutes.get(minute);
    if (p === undefined) {
      p = { minute, checkouts: 0, promised: 0, shortPicked: 0, degraded: 0, errors: 0 };
      minutes.set(minute, p);
    }
    p.checkouts++;
    if (d.promisedNode !== null) p.promised++;
    if (d.outcome === 'short-picked') p.shortPicked++;
    if (d.degradations.length > 0) p.degraded++;
    if (d.answer === 'error' || d.answer === 'timeout' || d.answer === 'late') p.errors++;
    if (d.latencyMs !== null && Number.isFinite(d.latencyMs)) latencies.push(d.latencyMs);
  }
  latencies.sort((a, b) => a - b);
  return { minutes: [...minutes.values()].sort((a, b) => a.minute - b.minute), latenciesMs: latencies };
}
