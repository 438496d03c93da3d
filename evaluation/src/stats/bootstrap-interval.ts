/**
 * Seeded percentile bootstrap (Efron 1979; Efron and Tibshirani 1993, ch. 13)
 * for any statistic the closed forms do not cover: a conversion proxy per
 * session, a money figure per buyer, a ratio of sums. The statistic is the
 * caller's function over row indices, so the data stay in the caller's own
 * arrays (columns, typed arrays) and a resample is one reused index buffer,
 * not a copied dataset.
 *
 * Clusters: when rows are not independent (several decisions of one session
 * or one SKU), rows of a cluster are drawn together, as whole units (the
 * cluster bootstrap; Davison and Hinkley 1997, s. 3.8); resampling single
 * rows would understate the variance. Strata: units are resampled within
 * their stratum (an arm), so each resample keeps every arm's size, as the
 * experiment did.
 *
 * Why percentile and not BCa: the statistics bootstrapped here are means and
 * ratios of means over thousands of units, where the percentile interval is
 * already close to nominal; BCa's jackknife would cost another n statistic
 * evaluations per call.
 */
import { AtpError } from '@mercato/platform/errors';
import { Prng } from '@mercato/platform/prng';
import { EVALUATION_ERR } from '../evaluation-errors.js';
import type { Interval } from './rate-counts.js';
import { requireCount, requireIntegerIn, requireOpenUnit } from './stats-input.js';
import { DEFAULT_CONFIDENCE } from './wilson-interval.js';

/** Enough for the 2.5% and 97.5% percentiles to move by well under a tenth of the interval between seeds. */
export const DEFAULT_RESAMPLES = 2000;
/** Fewer resamples give tail percentiles from a handful of values. */
export const MIN_RESAMPLES = 100;
/** A guard against a typo (1e9) that would hold a report for hours. */
export const MAX_RESAMPLES = 1_000_000;
/** Any fixed seed: what matters is that a report re-run on the same data prints the same interval. */
export const DEFAULT_BOOTSTRAP_SEED = 1;

/**
 * The statistic of one resample: `rows[0 .. count)` are indices into the
 * caller's data, with repeats. The buffer is reused by the next resample:
 * read it, never keep it. A non-finite result counts the resample as invalid.
 */
export type BootstrapStatistic = (rows: Uint32Array, count: number) => number;

/** How to resample; every field optional. */
export interface BootstrapOptions {
  /** Default DEFAULT_RESAMPLES; integer in [MIN_RESAMPLES, MAX_RESAMPLES]. */
  resamples?: number;
  /** Default 0.95. */
  confidence?: number;
  /** Default DEFAULT_BOOTSTRAP_SEED; the same seed and data give the same interval. */
  seed?: number;
  /** Cluster id per row (non-negative integers): a cluster's rows are drawn together. */
  clusters?: ArrayLike<number>;
  /** Stratum id per row (non-negative integers, e.g. the arm): units are drawn within their stratum. */
  strata?: ArrayLike<number>;
}

/** The statistic on the data (`estimate`) with its percentile interval. */
export interface BootstrapResult extends Interval {
  /** Standard deviation of the valid resampled statistics. */
  standardError: number;
  resamples: number;
  /** Resamples whose statistic was not finite; they are left out of the percentiles. */
  invalidResamples: number;
}

/** Rows grouped by unit (a cluster, or the row itself) and units grouped by stratum, as CSR arrays. */
interface ResamplingPlan {
  unitRowStart: Uint32Array;
  unitRows: Uint32Array;
  stratumUnitStart: Uint32Array;
  stratumUnits: Uint32Array;
}

/**
 * The statistic on the data as observed, with a percentile interval from
 * `resamples` seeded resamples of `rowCount` rows (optionally clustered and
 * stratified).
 */
export function bootstrapInterval(
  rowCount: number,
  statistic: BootstrapStatistic,
  options: BootstrapOptions = {},
): BootstrapResult {
  requireCount(rowCount, 'rowCount');
  if (rowCount === 0) throw new AtpError(EVALUATION_ERR.INVALID_COUNTS, 'rowCount must be > 0', 'rowCount');
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  requireIntegerIn(resamples, MIN_RESAMPLES, MAX_RESAMPLES, 'resamples');
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  requireOpenUnit(confidence, 'confidence');
  const seed = options.seed ?? DEFAULT_BOOTSTRAP_SEED;
  requireIntegerIn(seed, -(2 ** 31), 2 ** 32 - 1, 'seed');

  const plan = resamplingPlan(rowCount, options.clusters, options.strata);
  let rows: Uint32Array = new Uint32Array(rowCount);
  for (let i = 0; i < rowCount; i++) rows[i] = i;
  const estimate = statistic(rows, rowCount);

  const random = new Prng(seed);
  const values = new Float64Array(resamples);
  let valid = 0;
  const strataCount = plan.stratumUnitStart.length - 1;
  for (let b = 0; b < resamples; b++) {
    let count = 0;
    for (let s = 0; s < strataCount; s++) {
      const first = plan.stratumUnitStart[s] ?? 0;
      const size = (plan.stratumUnitStart[s + 1] ?? 0) - first;
      for (let j = 0; j < size; j++) {
        const unit = plan.stratumUnits[first + random.index(size)] ?? 0;
        const from = plan.unitRowStart[unit] ?? 0;
        const to = plan.unitRowStart[unit + 1] ?? 0;
        if (count + to - from > rows.length) rows = grow(rows, count + to - from);
        for (let k = from; k < to; k++) rows[count++] = plan.unitRows[k] ?? 0;
      }
    }
    const value = statistic(rows, count);
    if (Number.isFinite(value)) values[valid++] = value;
  }

  const sorted = values.subarray(0, valid).sort();
  const tail = (1 - confidence) / 2;
  return {
    estimate,
    lower: percentile(sorted, tail),
    upper: percentile(sorted, 1 - tail),
    standardError: standardDeviation(sorted),
    resamples,
    invalidResamples: resamples - valid,
  };
}

/** Validates cluster and stratum ids and groups rows into units and units into strata. */
function resamplingPlan(
  rowCount: number,
  clusters: ArrayLike<number> | undefined,
  strata: ArrayLike<number> | undefined,
): ResamplingPlan {
  if (clusters !== undefined) requireLength(clusters, rowCount, 'clusters');
  if (strata !== undefined) requireLength(strata, rowCount, 'strata');

  const unitOfRow = new Uint32Array(rowCount);
  const unitIds = new Map<number, number>();
  for (let r = 0; r < rowCount; r++) {
    if (clusters === undefined) {
      unitOfRow[r] = r;
      continue;
    }
    const id = clusters[r] ?? Number.NaN;
    requireCount(id, `clusters[${r}]`);
    let unit = unitIds.get(id);
    if (unit === undefined) {
      unit = unitIds.size;
      unitIds.set(id, unit);
    }
    unitOfRow[r] = unit;
  }
  const unitCount = clusters === undefined ? rowCount : unitIds.size;
  const unitRowStart = countingSort(unitOfRow, unitCount);
  const unitRows = fillGroups(unitOfRow, unitRowStart);

  // A unit's stratum is its first row's; every other row of the unit must agree.
  const stratumOfUnit = new Uint32Array(unitCount);
  const stratumIds = new Map<number, number>();
  if (strata !== undefined) {
    const seen = new Uint8Array(unitCount);
    for (let r = 0; r < rowCount; r++) {
      const id = strata[r] ?? Number.NaN;
      requireCount(id, `strata[${r}]`);
      let stratum = stratumIds.get(id);
      if (stratum === undefined) {
        stratum = stratumIds.size;
        stratumIds.set(id, stratum);
      }
      const unit = unitOfRow[r] ?? 0;
      if (seen[unit] === 0) {
        seen[unit] = 1;
        stratumOfUnit[unit] = stratum;
      } else if (stratumOfUnit[unit] !== stratum) {
        throw new AtpError(
          EVALUATION_ERR.INVALID_PARAMETER,
          `row ${r}: a cluster spans two strata (a session seen in two arms?)`,
          `strata[${r}]`,
        );
      }
    }
  }
  const strataCount = Math.max(1, stratumIds.size);
  const stratumUnitStart = countingSort(stratumOfUnit, strataCount);
  const stratumUnits = fillGroups(stratumOfUnit, stratumUnitStart);
  return { unitRowStart, unitRows, stratumUnitStart, stratumUnits };
}

/** Throws unless a per-row id column has one entry per row. */
function requireLength(ids: ArrayLike<number>, rowCount: number, field: string): void {
  if (ids.length !== rowCount) {
    throw new AtpError(
      EVALUATION_ERR.INVALID_PARAMETER,
      `${field} has ${ids.length} entries for ${rowCount} rows`,
      field,
    );
  }
}

/** Start offset of each group (length groups + 1) from the group of each item. */
function countingSort(groupOf: Uint32Array, groups: number): Uint32Array {
  const start = new Uint32Array(groups + 1);
  for (let i = 0; i < groupOf.length; i++) {
    const g = (groupOf[i] ?? 0) + 1;
    start[g] = (start[g] ?? 0) + 1;
  }
  for (let g = 0; g < groups; g++) start[g + 1] = (start[g + 1] ?? 0) + (start[g] ?? 0);
  return start;
}

/** The items of each group, contiguous and in their original order, given the group starts. */
function fillGroups(groupOf: Uint32Array, start: Uint32Array): Uint32Array {
  const next = start.slice(0, start.length - 1);
  const items = new Uint32Array(groupOf.length);
  for (let i = 0; i < groupOf.length; i++) {
    const g = groupOf[i] ?? 0;
    items[next[g] ?? 0] = i;
    next[g] = (next[g] ?? 0) + 1;
  }
  return items;
}

/** A larger index buffer (clusters of unequal size can make a resample longer than the data). */
function grow(rows: Uint32Array, needed: number): Uint32Array {
  const bigger = new Uint32Array(Math.max(needed, rows.length * 2));
  bigger.set(rows);
  return bigger;
}

/** Quantile of sorted values by linear interpolation (Hyndman and Fan type 7, R's default); NaN when empty. */
function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const below = sorted[lo] ?? Number.NaN;
  const above = sorted[Math.min(lo + 1, sorted.length - 1)] ?? below;
  return below + (h - lo) * (above - below);
}

/** Sample standard deviation (n - 1); NaN below two values. */
function standardDeviation(values: Float64Array): number {
  if (values.length < 2) return Number.NaN;
  let mean = 0;
  for (let i = 0; i < values.length; i++) mean += values[i] ?? 0;
  mean /= values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    const d = (values[i] ?? 0) - mean;
    squares += d * d;
  }
  return Math.sqrt(squares / (values.length - 1));
}
