/**
 * Online drift of the features the model is served and of its scores
 * (issue 14 item 1). The hot path only counts: one binary search per
 * feature into fixed bins (the bundle's drift baseline edges) and an
 * integer increment, on typed arrays allocated once per model version; no
 * locks (one event loop), no allocation per row. When a window closes (enough rows,
 * or old enough with a minimum of rows) PSI per feature is compared with an
 * alarm threshold that accounts for the window's size and the bin count
 * (features/drift/psi.ts), and the window's report is kept for /v1/drift,
 * metrics and `atpctl drift report`.
 *
 * The sample size a window is judged on is the number of distinct (sku,
 * node) records among its rows, not the rows: repeated reads of one record
 * (a hot SKU, a client retrying one basket) are the same observation again,
 * and counting them as independent rows made a window of one hammered SKU
 * look like thousands of rows of drift. A small open-addressing table of
 * record keys per version counts them without allocation.
 *
 * The score has no baseline in the bundle, so its reference is the first
 * full window the version served (documented in docs/decisions.md): it
 * detects a change of the score distribution after a model went live, not
 * a difference from training.
 */
import { binOf, psi, psiAlarmThreshold } from '@mercato/features/drift/psi';
import type { DriftHistogram } from '@mercato/proto/v1/model-manifest';
import type { DriftWatch } from '../decision/ports.js';

/** Rows that close a window at once. */
export const DRIFT_WINDOW_ROWS = 5_000;
/** A window older than this closes if it holds at least DRIFT_MIN_ROWS rows. */
export const DRIFT_WINDOW_MS = 60_000;
/** Below this a window is not judged when its time is up: it keeps filling. */
export const DRIFT_MIN_ROWS = 200;
/** Score bins: ten equal bins over [0, 1]. */
export const SCORE_BINS = 10;
/** Closed windows kept per model version. */
export const DRIFT_REPORTS_KEPT = 30;
/** Model versions tracked at once (a rollout serves two; older ones are dropped first). */
const VERSIONS_TRACKED = 4;
/**
 * Distinct records counted per window; past this the window is judged on its
 * rows (that many independent records is a sample size of its own).
 */
export const DRIFT_MAX_TRACKED_RECORDS = 8_192;
/** Record-key table slots: twice the records tracked keeps probes short. */
const RECORD_SLOTS = DRIFT_MAX_TRACKED_RECORDS * 2;
/** Consecutive clean windows that end a drift alarm (one noisy window must not flap margins). */
export const DRIFT_CLEAR_WINDOWS = 2;

export interface DriftMonitorOptions {
  windowRows?: number;
  windowMs?: number;
  minRows?: number;
  /** Family-wise false-alarm probability per window. */
  alpha?: number;
  /** Floor under the statistical threshold. */
  materiality?: number;
}

export interface FeatureDrift {
  name: string;
  psi: number;
  threshold: number;
  alarm: boolean;
}

/** One closed window of one model version. */
export interface DriftWindowReport {
  modelVersion: string;
  openedAtMs: number;
  closedAtMs: number;
  rows: number;
  /** Distinct (sku, node) records among the rows (the sample size judged; see the header). */
  records: number;
  features: FeatureDrift[];
  /** The score's PSI against the version's first window; null for that first window. */
  score: FeatureDrift | null;
  alarms: string[];
}

/** What the policy and the metrics read: whether a drift alarm is in force for a version. */
export interface DriftState {
  modelVersion: string;
  active: boolean;
  /** Features (and `score`) that alarmed in the window that raised the alarm. */
  alarming: string[];
  sinceMs: number | null;
  windows: number;
}

/** The per-version counters and reports. */
class VersionTracker {
  readonly edges: Float64Array[] = [];
  readonly shares: Float64Array[] = [];
  readonly counts: Uint32Array[] = [];
  readonly names: string[] = [];
  /** Column of each tracked feature in the model's input row. */
  readonly columns: number[] = [];
  readonly scoreCounts = new Uint32Array(SCORE_BINS);
  scoreReference: Float64Array | null = null;
  rows = 0;
  /** Record keys seen in the open window: a slot is live when its stamp equals `stamp`. */
  readonly recordKeys = new Uint32Array(RECORD_SLOTS);
  readonly recordStamps = new Uint32Array(RECORD_SLOTS);
  stamp = 1;
  records = 0;
  openedAtMs: number;
  readonly reports: DriftWindowReport[] = [];
  active = false;
  alarming: string[] = [];
  sinceMs: number | null = null;
  cleanStreak = 0;
  windows = 0;

  constructor(
    readonly version: string,
    featureNames: readonly string[],
    baseline: Readonly<Record<string, DriftHistogram>>,
    nowMs: number,
  ) {
    this.openedAtMs = nowMs;
    featureNames.forEach((name, col) => {
      const h = baseline[name];
      if (h === undefined || h.shares.length < 2) return;
      this.names.push(name);
      this.columns.push(col);
      this.edges.push(Float64Array.from(h.edges));
      this.shares.push(Float64Array.from(h.shares));
      this.counts.push(new Uint32Array(h.shares.length));
    });
  }
}

export class DriftMonitor implements DriftWatch {
  private readonly trackers = new Map<string, VersionTracker>();
  private readonly windowRows: number;
  private readonly windowMs: number;
  private readonly minRows: number;
  private readonly alpha: number | undefined;
  private readonly materiality: number | undefined;
  private closedWindows = 0;

  constructor(
    private readonly featureNames: readonly string[],
    opts: DriftMonitorOptions = {},
  ) {
    this.windowRows = opts.windowRows ?? DRIFT_WINDOW_ROWS;
    this.windowMs = opts.windowMs ?? DRIFT_WINDOW_MS;
    this.minRows = opts.minRows ?? DRIFT_MIN_ROWS;
    this.alpha = opts.alpha;
    this.materiality = opts.materiality;
  }

  /**
   * Counts one served row: `x[offset .. offset + featureNames.length)` is the
   * model input, `pCal` its calibrated score, `recordKey` a 32-bit hash of its
   * (sku, node) record (features/drift/record-key.ts). Called on the hot path.
   */
  observe(
    version: string,
    baseline: Readonly<Record<string, DriftHistogram>>,
    x: Float32Array,
    offset: number,
    pCal: number,
    recordKey: number,
    nowMs: number,
  ): void {
    const t = this.tracker(version, baseline, nowMs);
    countRecord(t, recordKey >>> 0);
    for (let i = 0; i < t.columns.length; i++) {
      const b = binOf(t.edges[i]!, x[offset + t.columns[i]!]!);
      t.counts[i]![b]! += 1;
    }
    const sb = pCal >= 1 ? SCORE_BINS - 1 : pCal > 0 ? Math.floor(pCal * SCORE_BINS) : 0;
    t.scoreCounts[sb]! += 1;
    t.rows += 1;
    if (t.rows >= this.windowRows || (nowMs - t.openedAtMs >= this.windowMs && t.rows >= this.minRows)) {
      this.close(t, nowMs);
    }
  }

  /** Windows closed since start, over all versions (monotonic). */
  get windowsClosed(): number {
    return this.closedWindows;
  }

  /** The alarm state of a version (inactive when it was never observed). */
  state(version: string): DriftState {
    const t = this.trackers.get(version);
    if (t === undefined)
      return { modelVersion: version, active: false, alarming: [], sinceMs: null, windows: 0 };
    return {
      modelVersion: version,
      active: t.active,
      alarming: t.alarming,
      sinceMs: t.sinceMs,
      windows: t.windows,
    };
  }

  /** True when a drift alarm is in force for `version` (read per request: a map lookup). */
  drifting(version: string): boolean {
    return this.trackers.get(version)?.active ?? false;
  }

  /** Closed windows per tracked version, oldest first, and the open window's fill. */
  report(): { versions: { state: DriftState; openRows: number; windows: DriftWindowReport[] }[] } {
    return {
      versions: [...this.trackers.values()].map((t) => ({
        state: this.state(t.version),
        openRows: t.rows,
        windows: [...t.reports],
      })),
    };
  }

  /** The latest closed window of every tracked version. */
  latest(): DriftWindowReport[] {
    const out: DriftWindowReport[] = [];
    for (const t of this.trackers.values()) {
      const last = t.reports[t.reports.length - 1];
      if (last !== undefined) out.push(last);
    }
    return out;
  }

  private tracker(
    version: string,
    baseline: Readonly<Record<string, DriftHistogram>>,
    nowMs: number,
  ): VersionTracker {
    let t = this.trackers.get(version);
    if (t !== undefined) return t;
    if (this.trackers.size >= VERSIONS_TRACKED) {
      const oldest = this.trackers.keys().next().value;
      if (oldest !== undefined) this.trackers.delete(oldest);
    }
    t = new VersionTracker(version, this.featureNames, baseline, nowMs);
    this.trackers.set(version, t);
    return t;
  }

  private close(t: VersionTracker, nowMs: number): void {
    // Frequencies come from every row; the sample size is the distinct records (see the header).
    const served = t.rows;
    const records = t.records >= DRIFT_MAX_TRACKED_RECORDS ? served : Math.min(served, t.records);
    const comparisons = t.columns.length + (t.scoreReference === null ? 0 : 1);
    const judge = (name: string, shares: ArrayLike<number>, counts: Uint32Array): FeatureDrift => {
      const value = psi(shares, counts, served);
      const threshold = psiAlarmThreshold(shares.length, records, {
        comparisons,
        ...(this.alpha === undefined ? {} : { alpha: this.alpha }),
        ...(this.materiality === undefined ? {} : { materiality: this.materiality }),
      });
      return { name, psi: value, threshold, alarm: value > threshold };
    };
    const features = t.names.map((name, i) => judge(name, t.shares[i]!, t.counts[i]!));
    let score: FeatureDrift | null = null;
    if (t.scoreReference === null) {
      t.scoreReference = Float64Array.from(t.scoreCounts, (c) => c / served);
    } else {
      score = judge('score', t.scoreReference, t.scoreCounts);
    }
    const alarms = features.filter((f) => f.alarm).map((f) => f.name);
    if (score?.alarm) alarms.push('score');
    t.reports.push({
      modelVersion: t.version,
      openedAtMs: t.openedAtMs,
      closedAtMs: nowMs,
      rows: served,
      records,
      features,
      score,
      alarms,
    });
    if (t.reports.length > DRIFT_REPORTS_KEPT) t.reports.shift();
    t.windows += 1;
    this.closedWindows += 1;
    if (alarms.length > 0) {
      if (!t.active) t.sinceMs = nowMs;
      t.active = true;
      t.alarming = alarms;
      t.cleanStreak = 0;
    } else if (t.active && ++t.cleanStreak >= DRIFT_CLEAR_WINDOWS) {
      t.active = false;
      t.alarming = [];
      t.sinceMs = null;
    }
    for (const c of t.counts) c.fill(0);
    t.scoreCounts.fill(0);
    t.rows = 0;
    t.records = 0;
    // A new stamp empties the key table without touching its slots (wraps after 2^32 windows).
    t.stamp = t.stamp === 0xffffffff ? 1 : t.stamp + 1;
    if (t.stamp === 1) t.recordStamps.fill(0);
    t.openedAtMs = nowMs;
  }
}

/** Adds a record key to the open window's table (linear probing); counts it when new. */
function countRecord(t: VersionTracker, key: number): void {
  if (t.records >= DRIFT_MAX_TRACKED_RECORDS) return;
  const mask = RECORD_SLOTS - 1;
  for (let slot = key & mask; ; slot = (slot + 1) & mask) {
    if (t.recordStamps[slot] !== t.stamp) {
      t.recordStamps[slot] = t.stamp;
      t.recordKeys[slot] = key;
      t.records += 1;
      return;
    }
    if (t.recordKeys[slot] === key) return;
  }
}
