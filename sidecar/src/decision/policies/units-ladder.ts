/**
 * units_p10: a conservative estimate of sellable units at a node. The
 * ranker is asked, in the same batch as the request's own rows, for
 * p_fulfill at a small geometric ladder of quantities up to the known ATP;
 * units_p10 is the largest rung k such that every rung up to k has
 * calibrated p_fulfill(k) >= UNITS_P10_LEVEL. Since p_fulfill(k) is
 * P(the node can ship k units), that rung is (a lower bound of) the 10th
 * percentile of sellable units. Rungs stop at the first failure, so a
 * non-monotone model cannot inflate the estimate.
 */
import { R, RECORD_WIDTH } from '@mercato/features/record-layout';
import type { SkuView } from '@mercato/features/store-ports';

export const UNITS_P10_LEVEL = 0.9;
/** Rungs per candidate, from 1 to the candidate's ATP. */
export const LADDER_RUNGS = 5;
/** Only the best candidates by prior get a ladder: it bounds the batch (items x candidates x rungs). */
export const LADDER_CANDIDATES = 4;

/** Distinct integer rungs from 1 to `atp`, geometric; empty when nothing is in stock. */
export function ladderRungs(atp: number, rungs = LADDER_RUNGS): number[] {
  const top = Math.floor(atp);
  if (top < 1) return [];
  if (top === 1 || rungs === 1) return [top];
  const out: number[] = [];
  for (let i = 0; i < rungs; i++) {
    const k = Math.max(1, Math.round(top ** (i / (rungs - 1))));
    // Length first: reading out[-1] of an empty array is a slow named-property lookup in V8.
    if (out.length === 0 || k > (out[out.length - 1] ?? 0)) out.push(k);
  }
  return out;
}

/** Largest rung whose p and every smaller rung's p reach `level`; 0 when the first fails. */
export function unitsFromLadder(
  rungs: readonly number[],
  p: (i: number) => number,
  level = UNITS_P10_LEVEL,
): number {
  let units = 0;
  let i = 0;
  for (const rung of rungs) {
    if (p(i) < level) break;
    units = rung;
    i++;
  }
  return units;
}

/**
 * The ladder out of the request (issue 17): units_p10 of a (sku, node) is
 * kept per model once computed, and reused while the SKU record it was
 * computed from is unchanged (UNITS_STAMP: the stock, reservation, count and
 * velocity facts and the sellable units the rungs came from), for at most
 * UNITS_P10_MAX_AGE_MS: the ladder's other inputs (event ages, the SKU's
 * request rate, stream lag) drift with time alone and are refreshed by that
 * bound. A checkout then ranks only its candidates' own rows; the ladder rows
 * run only when a record changed.
 */
export const UNITS_P10_MAX_AGE_MS = 10_000;
/** SKUs kept; past it the cache starts over (a bound, not an LRU: misses only cost a ladder run). */
export const UNITS_CACHE_MAX_SKUS = 250_000;
/** Record slots whose values stamp a cached ladder (any change recomputes it). */
const UNITS_STAMP = [R.onHand, R.reserved, R.lastStockEventMs, R.lastCountMs, R.velocityAtMs] as const;
/** Stamp width per node: the record slots, then the sellable units. */
const STAMP_WIDTH = UNITS_STAMP.length + 1;
/** "No cached value" (units are >= 0). */
export const UNITS_MISS = -1;

interface SkuLadders {
  nodeIds: readonly string[];
  stamps: Float64Array;
  units: Float64Array;
  atMs: Float64Array;
}

export class UnitsCache {
  private readonly skus = new Map<string, SkuLadders>();

  constructor(
    private readonly maxAgeMs = UNITS_P10_MAX_AGE_MS,
    private readonly maxSkus = UNITS_CACHE_MAX_SKUS,
  ) {}

  get size(): number {
    return this.skus.size;
  }

  /** units_p10 of node `i` of the SKU's view when its record is unchanged and young enough; else UNITS_MISS. */
  get(sku: string, view: SkuView, i: number, sellable: number, nowMs: number): number {
    const e = this.skus.get(sku);
    if (e === undefined || e.nodeIds.length !== view.nodeIds.length || e.nodeIds[i] !== view.nodeIds[i]) {
      return UNITS_MISS;
    }
    const at = e.atMs[i] ?? 0;
    if (at === 0 || nowMs - at > this.maxAgeMs || nowMs < at) return UNITS_MISS;
    const off = i * RECORD_WIDTH;
    const s = i * STAMP_WIDTH;
    for (let k = 0; k < UNITS_STAMP.length; k++) {
      if (e.stamps[s + k] !== view.recs[off + UNITS_STAMP[k]!]) return UNITS_MISS;
    }
    if (e.stamps[s + UNITS_STAMP.length] !== sellable) return UNITS_MISS;
    return e.units[i] ?? UNITS_MISS;
  }

  set(sku: string, view: SkuView, i: number, sellable: number, units: number, nowMs: number): void {
    let e = this.skus.get(sku);
    if (e === undefined || e.nodeIds.length !== view.nodeIds.length || e.nodeIds[i] !== view.nodeIds[i]) {
      if (e === undefined && this.skus.size >= this.maxSkus) this.skus.clear();
      const n = view.nodeIds.length;
      e = {
        nodeIds: view.nodeIds,
        stamps: new Float64Array(n * STAMP_WIDTH),
        units: new Float64Array(n),
        atMs: new Float64Array(n),
      };
      this.skus.set(sku, e);
    }
    const off = i * RECORD_WIDTH;
    const s = i * STAMP_WIDTH;
    for (let k = 0; k < UNITS_STAMP.length; k++)
      e.stamps[s + k] = view.recs[off + UNITS_STAMP[k]!] ?? Number.NaN;
    e.stamps[s + UNITS_STAMP.length] = sellable;
    e.units[i] = units;
    e.atMs[i] = nowMs;
  }
}
