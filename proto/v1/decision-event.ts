/**
 * Decision event, version 1: one record per answered decision on the durable
 * stream `atp.decisions.<region>` (topics.ts), keyed by decision id, so the
 * outcome join can tell what was promised, by which arm and model, in which
 * segment. It is the decision log (sidecar/src/decision-log) cut down to what
 * evaluation needs; the mapping is in proto/v1/decision_event.md.
 *
 * No user-level data (DESIGN §7): no request id, no buyer zone, no buyer,
 * address, session or payload. The parser refuses a record that carries any
 * of the known user-level field names, so a producer cannot leak them by
 * adding a field. Wire: one JSON object per message, snake_case, schema
 * `atp.decision.v1`.
 */
import {
  CHANNELS,
  type Channel,
  DEGRADATIONS,
  type Degradation,
  MAX_BROWSE_ITEMS,
  MAX_CHECKOUT_ITEMS,
  MAX_ITEM_QTY,
  MODES,
  type Mode,
  NODE_TYPES,
  type NodeType,
} from './decision.js';
import { MAX_EVENT_TIME_MS, MIN_EVENT_TIME_MS } from './inventory-event.js';
import { parseRegionName } from './regions.js';
import {
  asObject,
  ContractError,
  type Obj,
  parseJsonText,
  reqArray,
  reqEnum,
  reqId,
  reqInt,
} from './validate.js';

export const DECISION_EVENT_SCHEMA = 'atp.decision.v1';

/** `arm` of a decision made outside any experiment. */
export const NO_ARM = 'none';

/** Which side answered: the model, the rule baseline, or stock only (`naive`, the world's reference). */
export const ENFORCED_SIDES = ['model', 'baseline', 'naive'] as const;
export type EnforcedSide = (typeof ENFORCED_SIDES)[number];

/** Node type of an item's node; `none` when the item had no candidate at all. */
export const ITEM_NODE_TYPES = [...NODE_TYPES, 'none'] as const;
export type ItemNodeType = NodeType | 'none';

/** Field names that would carry user-level data; a record holding any of them is refused. */
export const FORBIDDEN_FIELDS = [
  'request_id',
  'zone',
  'buyer',
  'buyer_id',
  'buyer_zone',
  'user_id',
  'session',
  'session_id',
  'address',
  'payload',
  'email',
] as const;

export interface DecisionEventItem {
  sku: string;
  qty: number;
  /** The SKU was hot (request-rate sketch) when decided. */
  hot: boolean;
  /** What was answered for this item, after reservation: true = promised. */
  promised: boolean;
  /** The promised node; for a denial the best candidate the answer was about; '' when none. */
  node: string;
  nodeType: ItemNodeType;
  /** The enforced side's p_fulfill of `node` (null when nothing scored it). */
  pFulfill: number | null;
  /** What the model side would have answered for the item (null: no model ran). */
  modelAvailable: boolean | null;
  /** What the rule baseline would have answered for the item. */
  baselineAvailable: boolean;
}

export interface DecisionEvent {
  decisionId: string;
  region: string;
  /** Decision time, ms since epoch (sidecar clock): the event time of the join. */
  tsMs: number;
  channel: Channel;
  mode: Mode;
  enforced: EnforcedSide;
  /**
   * Experiment arm the decision was made under, as `<experiment>:<arm>`
   * (experiment.ts armTag); `none` outside experiments and for a stopped arm's buckets.
   */
  arm: string;
  /** The experiment id; absent outside experiments. */
  experiment?: string;
  modelVersion: string;
  rulesVersion: string;
  degradations: Degradation[];
  items: DecisionEventItem[];
}

export function decisionEventToWire(e: DecisionEvent): Record<string, unknown> {
  return {
    schema: DECISION_EVENT_SCHEMA,
    decision_id: e.decisionId,
    region: e.region,
    ts_ms: e.tsMs,
    channel: e.channel,
    mode: e.mode,
    enforced: e.enforced,
    arm: e.arm,
    ...(e.experiment === undefined ? {} : { experiment: e.experiment }),
    model_version: e.modelVersion,
    rules_version: e.rulesVersion,
    degradations: e.degradations,
    items: e.items.map((it) => ({
      sku: it.sku,
      qty: it.qty,
      hot: it.hot,
      promised: it.promised,
      node: it.node,
      node_type: it.nodeType,
      p_fulfill: it.pFulfill,
      model_available: it.modelAvailable,
      baseline_available: it.baselineAvailable,
    })),
  };
}

export function encodeDecisionEvent(e: DecisionEvent): string {
  return JSON.stringify(decisionEventToWire(e));
}

/** Kafka key: a decision and its outcomes share the key (order.outcomes is keyed by decision id too). */
export function decisionEventKey(e: DecisionEvent): string {
  return e.decisionId;
}

export function decodeDecisionEvent(text: string): DecisionEvent {
  return parseDecisionEvent(parseJsonText(text));
}

/** True when any item was promised (the decision answered allow for at least one item). */
export function anyPromised(e: DecisionEvent): boolean {
  return e.items.some((it) => it.promised);
}

/** Parses an untrusted decision event. Throws ContractError naming the field. */
export function parseDecisionEvent(raw: unknown): DecisionEvent {
  const o = asObject(raw, '$');
  if (o.schema !== DECISION_EVENT_SCHEMA) {
    throw new ContractError('schema', `expected "${DECISION_EVENT_SCHEMA}"`);
  }
  refuseUserData(o, '');
  const channel = reqEnum(o, 'channel', '', CHANNELS);
  const maxItems = channel === 'checkout' ? MAX_CHECKOUT_ITEMS : MAX_BROWSE_ITEMS;
  const rawItems = reqArray(o, 'items', '', 1, maxItems);
  const items = rawItems.map((it, i) => parseItem(it, `items[${i}]`));
  const seen = new Set<string>();
  items.forEach((it, i) => {
    if (seen.has(it.sku)) throw new ContractError(`items[${i}].sku`, `"${it.sku}" appears twice`);
    seen.add(it.sku);
  });
  const degradations = reqArray(o, 'degradations', '', 0, DEGRADATIONS.length).map((d, i) => {
    if (typeof d !== 'string' || !(DEGRADATIONS as readonly string[]).includes(d)) {
      throw new ContractError(`degradations[${i}]`, `expected one of ${DEGRADATIONS.join(' | ')}`);
    }
    return d as Degradation;
  });
  const region = reqId(o, 'region', '', 64);
  parseRegionName(region, 'region');
  return {
    decisionId: reqId(o, 'decision_id', '', 128),
    region,
    tsMs: reqInt(o, 'ts_ms', '', MIN_EVENT_TIME_MS, MAX_EVENT_TIME_MS),
    channel,
    mode: reqEnum(o, 'mode', '', MODES),
    enforced: reqEnum(o, 'enforced', '', ENFORCED_SIDES),
    arm: reqId(o, 'arm', '', 64),
    ...(o.experiment === undefined || o.experiment === null
      ? {}
      : { experiment: reqId(o, 'experiment', '', 64) }),
    modelVersion: reqId(o, 'model_version', '', 128),
    rulesVersion: reqId(o, 'rules_version', '', 128),
    degradations,
    items,
  };
}

function parseItem(raw: unknown, prefix: string): DecisionEventItem {
  const o = asObject(raw, prefix);
  refuseUserData(o, prefix);
  const promised = reqBool(o, 'promised', prefix);
  const node = o.node === '' ? '' : reqId(o, 'node', prefix);
  const nodeType = reqEnum(o, 'node_type', prefix, ITEM_NODE_TYPES);
  if (promised && node === '') throw new ContractError(`${prefix}.node`, 'a promised item names its node');
  if ((node === '') !== (nodeType === 'none')) {
    throw new ContractError(`${prefix}.node_type`, 'is "none" exactly when node is ""');
  }
  const p = o.p_fulfill;
  if (p !== null && (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1)) {
    throw new ContractError(`${prefix}.p_fulfill`, 'expected a number in [0, 1] or null');
  }
  const model = o.model_available;
  if (model !== null && typeof model !== 'boolean') {
    throw new ContractError(`${prefix}.model_available`, 'expected true, false or null');
  }
  return {
    sku: reqId(o, 'sku', prefix),
    qty: reqInt(o, 'qty', prefix, 1, MAX_ITEM_QTY),
    hot: reqBool(o, 'hot', prefix),
    promised,
    node,
    nodeType,
    pFulfill: p,
    modelAvailable: model,
    baselineAvailable: reqBool(o, 'baseline_available', prefix),
  };
}

function refuseUserData(o: Obj, prefix: string): void {
  for (const f of FORBIDDEN_FIELDS) {
    if (o[f] !== undefined) {
      throw new ContractError(
        prefix === '' ? f : `${prefix}.${f}`,
        'user-level data is not allowed on the decision stream',
      );
    }
  }
}

function reqBool(o: Obj, key: string, prefix: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') {
    throw new ContractError(
      prefix === '' ? key : `${prefix}.${key}`,
      `expected true or false, got ${v === null ? 'null' : typeof v}`,
    );
  }
  return v;
}
