/**
 * Stock truth, version 1: what the world knew about a decided item. Only a
 * world that knows the truth (the closed-loop simulator) publishes it; it is
 * optional everywhere, and an evaluation without it reports no false-denial
 * figures (`null`, never 0). It travels on `order.outcomes.<region>` beside
 * the order outcomes (the consumer tells them apart by `schema`), keyed by
 * decision id, one per decided (decision, sku), promised or denied: a denied
 * item has no order, so no order outcome, and this record is the only thing
 * that says whether the denial was needed (`available: true` on a denied
 * item = a false denial, "denied though stock was there").
 *
 * No user-level data: a decision id, the SKU, a quantity, a boolean, a time.
 * Wire: one JSON object per message, snake_case, schema `order.stock-truth.v1`.
 * See proto/v1/decision_event.md.
 */
import { MAX_ITEM_QTY } from './decision.js';
import { MAX_EVENT_TIME_MS, MIN_EVENT_TIME_MS } from './inventory-event.js';
import { asObject, ContractError, parseJsonText, reqId, reqInt } from './validate.js';

export const STOCK_TRUTH_SCHEMA = 'order.stock-truth.v1';

export interface StockTruth {
  decisionId: string;
  region: string;
  sku: string;
  qty: number;
  /** At decision time some candidate node of the item truly held `qty` sellable units. */
  available: boolean;
  /** The decision's time (event time of the join, like an outcome's promised_at_ms). */
  decidedAtMs: number;
}

export function stockTruthToWire(s: StockTruth): Record<string, unknown> {
  return {
    schema: STOCK_TRUTH_SCHEMA,
    decision_id: s.decisionId,
    region: s.region,
    sku: s.sku,
    qty: s.qty,
    available: s.available,
    decided_at_ms: s.decidedAtMs,
  };
}

export function encodeStockTruth(s: StockTruth): string {
  return JSON.stringify(stockTruthToWire(s));
}

export function decodeStockTruth(text: string): StockTruth {
  return parseStockTruth(parseJsonText(text));
}

/** Parses an untrusted stock-truth record. Throws ContractError naming the field. */
export function parseStockTruth(raw: unknown): StockTruth {
  const o = asObject(raw, '$');
  if (o.schema !== STOCK_TRUTH_SCHEMA) throw new ContractError('schema', `expected "${STOCK_TRUTH_SCHEMA}"`);
  if (typeof o.available !== 'boolean') throw new ContractError('available', 'expected true or false');
  return {
    decisionId: reqId(o, 'decision_id', '', 128),
    region: reqId(o, 'region', '', 64),
    sku: reqId(o, 'sku', ''),
    qty: reqInt(o, 'qty', '', 1, MAX_ITEM_QTY),
    available: o.available,
    decidedAtMs: reqInt(o, 'decided_at_ms', '', MIN_EVENT_TIME_MS, MAX_EVENT_TIME_MS),
  };
}
