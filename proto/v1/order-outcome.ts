/**
 * Order outcome, version 1: what became of a promise. The fulfilment side
 * (the order service in production, the closed-loop world in simulation)
 * publishes one outcome per promised (decision, sku) on
 * `order.outcomes.<region>`, keyed by decision id; the outcome join, the batch
 * job (handling adherence) and retraining read it.
 *
 * No user-level data: a decision id, the SKU, the node, quantities and
 * times; never a buyer, an address or an order payload (DESIGN §7).
 * Wire: one JSON object per message (snake_case, schema `order.outcome.v1`).
 * See proto/v1/order_outcome.md.
 */
import { MAX_ITEM_QTY } from './decision.js';
import { MAX_EVENT_TIME_MS, MIN_EVENT_TIME_MS } from './inventory-event.js';
import { asObject, ContractError, parseJsonText, reqEnum, reqId, reqInt } from './validate.js';

export const ORDER_OUTCOME_SCHEMA = 'order.outcome.v1';

/**
 * - fulfilled: picked in full (on time or late, see `onTime`);
 * - short-picked: the node had fewer than `qty` units at pick: the promise was an oversell;
 * - cancelled-buyer: the buyer cancelled before pick (says nothing about stock);
 * - cancelled-seller: the node cancelled (seller could not or would not ship): a fulfilment
 *   failure that is not a stock error.
 */
export const OUTCOME_STATUSES = ['fulfilled', 'short-picked', 'cancelled-buyer', 'cancelled-seller'] as const;
export type OutcomeStatus = (typeof OUTCOME_STATUSES)[number];

export interface OrderOutcome {
  /** Unique per outcome: `<decisionId>:<sku>` by convention; duplicates are the same outcome again. */
  outcomeId: string;
  decisionId: string;
  region: string;
  sku: string;
  node: string;
  qty: number;
  status: OutcomeStatus;
  /** Units actually picked (qty when fulfilled, fewer when short-picked, 0 when cancelled). */
  unitsPicked: number;
  /** When the promise was made (the decision's time). */
  promisedAtMs: number;
  /** When the pick was due (promise + the node's handling time). */
  dueAtMs: number;
  /** When the outcome happened (pick, short pick, or cancellation). */
  resolvedAtMs: number;
  /** Fulfilled by its due time (false for every other status). */
  onTime: boolean;
}

export interface OrderOutcomeWire {
  schema: typeof ORDER_OUTCOME_SCHEMA;
  outcome_id: string;
  decision_id: string;
  region: string;
  sku: string;
  node: string;
  qty: number;
  status: OutcomeStatus;
  units_picked: number;
  promised_at_ms: number;
  due_at_ms: number;
  resolved_at_ms: number;
  on_time: boolean;
}

export function outcomeToWire(o: OrderOutcome): OrderOutcomeWire {
  return {
    schema: ORDER_OUTCOME_SCHEMA,
    outcome_id: o.outcomeId,
    decision_id: o.decisionId,
    region: o.region,
    sku: o.sku,
    node: o.node,
    qty: o.qty,
    status: o.status,
    units_picked: o.unitsPicked,
    promised_at_ms: o.promisedAtMs,
    due_at_ms: o.dueAtMs,
    resolved_at_ms: o.resolvedAtMs,
    on_time: o.onTime,
  };
}

export function encodeOutcome(o: OrderOutcome): string {
  return JSON.stringify(outcomeToWire(o));
}

/** Kafka key: every outcome of a decision lands on one partition, in order. */
export function outcomeKey(o: OrderOutcome): string {
  return o.decisionId;
}

export function decodeOutcome(text: string): OrderOutcome {
  return parseOutcome(parseJsonText(text));
}

/** Parses an untrusted outcome. Throws ContractError naming the field. */
export function parseOutcome(raw: unknown): OrderOutcome {
  const o = asObject(raw, '$');
  if (o.schema !== ORDER_OUTCOME_SCHEMA) {
    throw new ContractError('schema', `expected "${ORDER_OUTCOME_SCHEMA}"`);
  }
  const qty = reqInt(o, 'qty', '', 1, MAX_ITEM_QTY);
  const status = reqEnum(o, 'status', '', OUTCOME_STATUSES);
  const out: OrderOutcome = {
    outcomeId: reqId(o, 'outcome_id', '', 200),
    decisionId: reqId(o, 'decision_id', '', 128),
    region: reqId(o, 'region', '', 64),
    sku: reqId(o, 'sku', ''),
    node: reqId(o, 'node', ''),
    qty,
    status,
    unitsPicked: reqInt(o, 'units_picked', '', 0, qty),
    promisedAtMs: reqInt(o, 'promised_at_ms', '', MIN_EVENT_TIME_MS, MAX_EVENT_TIME_MS),
    dueAtMs: reqInt(o, 'due_at_ms', '', MIN_EVENT_TIME_MS, MAX_EVENT_TIME_MS),
    resolvedAtMs: reqInt(o, 'resolved_at_ms', '', MIN_EVENT_TIME_MS, MAX_EVENT_TIME_MS),
    onTime: reqBool(o.on_time, 'on_time'),
  };
  if (out.dueAtMs < out.promisedAtMs)
    throw new ContractError('due_at_ms', 'must not be before promised_at_ms');
  if (out.resolvedAtMs < out.promisedAtMs) {
    throw new ContractError('resolved_at_ms', 'must not be before promised_at_ms');
  }
  if (status === 'fulfilled' && out.unitsPicked !== qty) {
    throw new ContractError('units_picked', 'a fulfilled outcome picks qty units');
  }
  if (status === 'short-picked' && out.unitsPicked >= qty) {
    throw new ContractError('units_picked', 'a short pick picks fewer than qty units');
  }
  if (status.startsWith('cancelled') && out.unitsPicked !== 0) {
    throw new ContractError('units_picked', 'a cancelled order picks 0 units');
  }
  if (out.onTime && status !== 'fulfilled')
    throw new ContractError('on_time', 'only a fulfilled order is on time');
  return out;
}

function reqBool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new ContractError(field, `expected true or false, got ${typeof v}`);
  return v;
}
