/**
 * Inventory mutation event, version 1: the contract between feeds (warehouse
 * systems, store POS, seller feeds, the simulator) and the ingester.
 *
 * Wire encoding on Kafka: one UTF-8 JSON object per message, key = sku (or the
 * node id for heartbeats), so a person with `kcat -P` can produce valid events.
 * See proto/v1/inventory_event.md for the field table and examples.
 */
import { asObject, ContractError, reqEnum, reqId, reqInt, reqString } from './validate.js';

export const INVENTORY_EVENT_SCHEMA = 'inventory.mutation.v1';

export const EVENT_KINDS = [
  'receipt',
  'sale',
  'reservation',
  'release',
  'cancellation',
  'return',
  'adjustment',
  'cycle-count',
  'heartbeat',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const SOURCES = ['first-party', 'third-party'] as const;
export type Source = (typeof SOURCES)[number];

/** Largest quantity one event may carry; larger values are treated as feed corruption. */
export const MAX_EVENT_QUANTITY = 1_000_000;
/** Sequence numbers are per (sku,node) stream and must stay exact in a double. */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;
/** Event times before 2000-01-01 or after 2100-01-01 are rejected as clock garbage. */
export const MIN_EVENT_TIME_MS = 946_684_800_000;
export const MAX_EVENT_TIME_MS = 4_102_444_800_000;
/** Heartbeats carry this sku: they belong to a node, not to a (sku,node) pair. */
export const HEARTBEAT_SKU = '*';

/**
 * Meaning of `quantity` per kind:
 * - receipt, return: units added to on hand (>= 1)
 * - sale: units that left the node (>= 1)
 * - reservation: units reserved by a confirmed order (>= 1)
 * - release: reservation ended because the order shipped (>= 1; paired with a sale)
 * - cancellation: reservation ended because the order was cancelled (>= 1)
 * - adjustment: signed correction of on hand (!= 0)
 * - cycle-count: absolute units counted on the shelf (>= 0)
 * - heartbeat: 0; sku is "*" and sequence counts per node
 */
export interface InventoryEvent {
  eventId: string;
  sku: string;
  node: string;
  kind: EventKind;
  quantity: number;
  sequence: number;
  eventTimeMs: number;
  source: Source;
}

/** The JSON shape on the wire (snake_case, with a schema tag). */
export interface InventoryEventWire {
  schema: typeof INVENTORY_EVENT_SCHEMA;
  event_id: string;
  sku: string;
  node: string;
  kind: EventKind;
  quantity: number;
  sequence: number;
  event_time_ms: number;
  source: Source;
}

export function toWire(e: InventoryEvent): InventoryEventWire {
  return {
    schema: INVENTORY_EVENT_SCHEMA,
    event_id: e.eventId,
    sku: e.sku,
    node: e.node,
    kind: e.kind,
    quantity: e.quantity,
    sequence: e.sequence,
    event_time_ms: e.eventTimeMs,
    source: e.source,
  };
}

export function encodeEvent(e: InventoryEvent): string {
  return JSON.stringify(toWire(e));
}

/** Kafka message key: events of one sku share a partition; heartbeats go by node. */
export function eventKey(e: InventoryEvent): string {
  return e.kind === 'heartbeat' ? e.node : e.sku;
}

/** Parses untrusted JSON text (a Kafka value, a file line). Throws ContractError naming the field. */
export function decodeEvent(text: string): InventoryEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ContractError('$', `not valid JSON (${(err as Error).message})`);
  }
  return parseEvent(raw);
}

export function parseEvent(raw: unknown): InventoryEvent {
  const o = asObject(raw, '$');
  if (o.schema !== INVENTORY_EVENT_SCHEMA) {
    throw new ContractError('schema', `expected "${INVENTORY_EVENT_SCHEMA}"`);
  }
  const kind = reqEnum(o, 'kind', '', EVENT_KINDS);
  const sku = kind === 'heartbeat' ? reqString(o, 'sku', '', 1) : reqId(o, 'sku', '');
  if (kind === 'heartbeat' && sku !== HEARTBEAT_SKU) {
    throw new ContractError('sku', `heartbeats carry sku "${HEARTBEAT_SKU}"`);
  }
  const e: InventoryEvent = {
    eventId: reqId(o, 'event_id', '', 128),
    sku,
    node: reqId(o, 'node', ''),
    kind,
    quantity: reqInt(o, 'quantity', '', -MAX_EVENT_QUANTITY, MAX_EVENT_QUANTITY),
    sequence: reqInt(o, 'sequence', '', 1, MAX_SEQUENCE),
    eventTimeMs: reqInt(o, 'event_time_ms', '', MIN_EVENT_TIME_MS, MAX_EVENT_TIME_MS),
    source: reqEnum(o, 'source', '', SOURCES),
  };
  checkQuantity(e);
  return e;
}

function checkQuantity(e: InventoryEvent): void {
  switch (e.kind) {
    case 'adjustment':
      if (e.quantity === 0) throw new ContractError('quantity', 'an adjustment must not be 0');
      return;
    case 'cycle-count':
      if (e.quantity < 0) throw new ContractError('quantity', 'a cycle count must be >= 0');
      return;
    case 'heartbeat':
      if (e.quantity !== 0) throw new ContractError('quantity', 'a heartbeat carries quantity 0');
      return;
    default:
      if (e.quantity < 1) throw new ContractError('quantity', `a ${e.kind} must be >= 1`);
  }
}
