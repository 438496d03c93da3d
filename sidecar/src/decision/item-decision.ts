/**
 * Builders of the wire item decision (proto ItemDecision) shared by the
 * stages, and the one rounding rule of reported probabilities and scores.
 */
import type { ItemDecision, Reason } from '@mercato/proto/v1/decision';

/** An item denied before any option was considered (hold, unknown SKU, features unavailable...). */
export function emptyItem(sku: string, qty: number, reason: Reason): ItemDecision {
  return {
    sku,
    qty,
    available: false,
    pFulfill: 0,
    unitsP10: 0,
    oversellRisk: 0,
    reasons: [reason],
    options: [],
  };
}

/** `item` taken back: no option, one reason. */
export function deniedItem(item: ItemDecision, reason: Reason): ItemDecision {
  return { ...item, available: false, oversellRisk: 0, reasons: [reason], options: [] };
}

/** Rounds a reported number to `digits` decimals (p and risk to 6, ETA and cost to 2). */
export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
