/**
 * The money view of the business-impact report, from unit economics. Per
 * requested item (each item is at most one of: a sale, an oversell, a
 * seller cancellation): value = margin x fulfilled - cost per oversell x
 * short-picked - cost per cancellation x cancelled by seller; its difference
 * to control has a normal interval from the per-item variance of that
 * three-valued outcome. Projections scale per-item differences by the
 * treatment's own volume.
 */
import type { AggregateCounts } from '../join/join-counts.js';
import { twoSidedCriticalValue } from '../stats/normal-distribution.js';

export interface UnitEconomics {
  marginPerSale: number;
  costPerOversell: number;
  costPerCancellation: number;
  currency: string;
}

/** Placeholder unit economics (documented in evaluation/README.md): set real ones per business. */
export const DEFAULT_ECONOMICS: UnitEconomics = {
  marginPerSale: 10,
  costPerOversell: 30,
  costPerCancellation: 5,
  currency: 'EUR',
};

export interface MoneyView {
  /** Value per requested item: treatment, control, and the difference with its interval. */
  treatmentPerItem: number;
  controlPerItem: number;
  differencePerItem: { estimate: number; lower: number; upper: number };
  /** At the treatment's volume: what the difference was worth over its requested items. */
  projectedDifference: number;
  /** Oversells avoided at the treatment's picked volume: (control rate - treatment rate) x picked. */
  oversellsAvoided: number;
  oversellCostSaved: number;
  /** Sales gained at the treatment's requested volume: (conversion T - conversion C) x requested. */
  salesGained: number;
  marginGained: number;
}

export function valuePerItem(c: AggregateCounts, e: UnitEconomics): number | null {
  if (c.requested === 0) return null;
  return (
    (e.marginPerSale * c.fulfilled -
      e.costPerOversell * c.short_picked -
      e.costPerCancellation * c.cancelled_seller) /
    c.requested
  );
}

/** Variance of one item's value (a three-valued outcome and 0), for the money interval. */
function valueVariance(c: AggregateCounts, e: UnitEconomics): number {
  const n = c.requested;
  const mean = valuePerItem(c, e) ?? 0;
  const second =
    (e.marginPerSale ** 2 * c.fulfilled +
      e.costPerOversell ** 2 * c.short_picked +
      e.costPerCancellation ** 2 * c.cancelled_seller) /
    n;
  return Math.max(0, second - mean * mean);
}

export function moneyView(
  t: AggregateCounts,
  c: AggregateCounts,
  e: UnitEconomics,
  confidence: number,
): MoneyView | null {
  const vt = valuePerItem(t, e);
  const vc = valuePerItem(c, e);
  if (vt === null || vc === null) return null;
  const z = twoSidedCriticalValue(confidence);
  const half = z * Math.sqrt(valueVariance(t, e) / t.requested + valueVariance(c, e) / c.requested);
  const diff = vt - vc;
  const pickedT = t.fulfilled + t.short_picked;
  const pickedC = c.fulfilled + c.short_picked;
  const oversellRateT = pickedT === 0 ? 0 : t.short_picked / pickedT;
  const oversellRateC = pickedC === 0 ? 0 : c.short_picked / pickedC;
  const oversellsAvoided = (oversellRateC - oversellRateT) * pickedT;
  const salesGained = (t.fulfilled / t.requested - c.fulfilled / c.requested) * t.requested;
  return {
    treatmentPerItem: vt,
    controlPerItem: vc,
    differencePerItem: { estimate: diff, lower: diff - half, upper: diff + half },
    projectedDifference: diff * t.requested,
    oversellsAvoided,
    oversellCostSaved: oversellsAvoided * e.costPerOversell,
    salesGained,
    marginGained: salesGained * e.marginPerSale,
  };
}
