/**
 * Consumer lag as the policy reads it (DESIGN.md §6 "stream lag beyond SLO").
 * The ingester writes one LagReport per partition it owns about once a
 * second; the sidecar reads them and turns them into `stream_lag_s` for the
 * SKUs of that partition (see partition-for-key.ts).
 *
 * A report stops being trustworthy when its ingester stops writing (crashed,
 * partitioned, or stuck on an unreachable Redis): from then on the lag the
 * sidecar assumes grows with the report's age, so a silent ingester looks
 * exactly like a lagging one and the policy gets stricter on its own.
 */

/** How often the ingester refreshes offsets and writes reports. */
export const LAG_REPORT_INTERVAL_MS = 1_000;
/** A report older than this (a few missed writes) is stale: its age is added to its lag. */
export const LAG_REPORT_STALE_MS = 5_000;
/** A strict lag to assume for a partition nobody reported on: beyond any hard limit, so the policy treats it as unknown. */
export const UNKNOWN_LAG_MS = 3_600_000;

export interface LagReport {
  partition: number;
  /** Records appended but not yet visible in the store (high watermark - applied position), >= 0. */
  offsetLag: number;
  /**
   * How far behind the log the store is, in ms: 0 when caught up; otherwise
   * now minus the timestamp of the last applied record (an upper bound of
   * the age of the oldest record not yet applied).
   */
  lagMs: number;
  /** Event-time age of the newest event when it became visible in the store (ms), -1 before the first. */
  eventAgeMs: number;
  /** Next offset to read as committed by the group (trails the applied position by up to a commit interval). */
  committedOffset: string;
  highWatermark: string;
  updatedAtMs: number;
  /** Client id of the ingester that owns the partition. */
  owner: string;
}

export interface TopicMeta {
  topic: string;
  partitionCount: number;
  updatedAtMs: number;
}

export function encodeLagReport(r: LagReport): string {
  return JSON.stringify(r);
}

/** Parses a stored report; null when it is not one (never trust what a store returns blindly). */
export function decodeLagReport(text: string): LagReport | null {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return null;
  }
  if (o === null || typeof o !== 'object') return null;
  const r = o as Record<string, unknown>;
  const nums = ['partition', 'offsetLag', 'lagMs', 'eventAgeMs', 'updatedAtMs'] as const;
  for (const k of nums) if (typeof r[k] !== 'number' || !Number.isFinite(r[k])) return null;
  for (const k of ['committedOffset', 'highWatermark', 'owner'] as const) {
    if (typeof r[k] !== 'string') return null;
  }
  return r as unknown as LagReport;
}

export function encodeTopicMeta(m: TopicMeta): string {
  return JSON.stringify(m);
}

export function decodeTopicMeta(text: string): TopicMeta | null {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (
      typeof o.topic !== 'string' ||
      !Number.isInteger(o.partitionCount) ||
      (o.partitionCount as number) < 1
    ) {
      return null;
    }
    return {
      topic: o.topic,
      partitionCount: o.partitionCount as number,
      updatedAtMs: Number(o.updatedAtMs) || 0,
    };
  } catch {
    return null;
  }
}

/**
 * The lag the policy should assume for a partition at `nowMs`: the reported
 * lag while the report is fresh, plus the report's whole age once it is stale.
 * No report at all is unknown: `unknownLagMs` (choose it beyond the hard limit).
 */
export function effectiveLagMs(report: LagReport | undefined, nowMs: number, unknownLagMs: number): number {
  if (report === undefined) return unknownLagMs;
  const ageMs = Math.max(0, nowMs - report.updatedAtMs);
  return ageMs > LAG_REPORT_STALE_MS ? report.lagMs + ageMs : report.lagMs;
}

/** Offset arithmetic on int64 decimal strings. */
export function offsetDiff(high: string, low: string): number {
  const d = BigInt(high) - BigInt(low);
  return d > 0n ? Number(d) : 0;
}

export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

/** What the sidecar reads to fill `stream_lag_s` (FeatureContext.streamLagMs). */
export interface StreamHealthReader {
  /** Partition that carries `key` (a SKU, or a node id for heartbeats); null until the topic shape is known. */
  partitionOf(key: string): number | null;
  /** Lag (ms) the policy should assume for the partition carrying `key` at `nowMs` (see effectiveLagMs). */
  lagMsFor(key: string, nowMs: number): number;
  /** Latest report per partition, in partition order. */
  reports(): LagReport[];
}
