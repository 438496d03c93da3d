/**
 * Decision API, version 1: what the filter (HTTP/JSON) and gRPC clients ask
 * the sidecar, and what it answers. The gRPC shape is proto/v1/atp.proto; the
 * JSON shape is the same messages in snake_case. Both edges parse through
 * `parseCheckRequest`, so limits and error messages are identical.
 */
import { type ExperimentTag, experimentTagToJson, parseExperimentTag } from './experiment.js';
import { asObject, ContractError, optString, reqArray, reqEnum, reqId, reqInt } from './validate.js';

export const CHANNELS = ['checkout', 'browse'] as const;
export type Channel = (typeof CHANNELS)[number];

export const NODE_TYPES = ['warehouse', 'store', 'seller'] as const;
/** warehouse = first-party DC, store = first-party store, seller = third-party seller. */
export type NodeType = (typeof NODE_TYPES)[number];

export const MODES = ['off', 'shadow', 'enforce'] as const;
export type Mode = (typeof MODES)[number];

/** A checkout carries a basket; browse asks for badges of a page of SKUs. */
export const MAX_CHECKOUT_ITEMS = 50;
export const MAX_BROWSE_ITEMS = 100;
export const MAX_ITEM_QTY = 1000;

/** Reason codes: stable strings, used as metric labels and shown to operators. */
export const REASONS = [
  'ATP_OK',
  'INSUFFICIENT_ATP',
  'SAFETY_BUFFER',
  'BELOW_THRESHOLD',
  'COMPLIANCE_HOLD',
  'BLOCKED_SKU',
  'KILL_SWITCH',
  'NODE_STALE',
  'NODE_UNKNOWN_STOCK',
  'HOT_SKU_STRICT',
  'RESERVED_STOCK',
  'RESERVATION_FAILED',
  'SELLER_HANDLING_TIME',
  'SELLER_DAILY_CAP',
  'SELLER_BLACKOUT',
  'REGION_RESTRICTED',
  'NOT_SERVICEABLE',
  'UNKNOWN_SKU',
  'NO_CANDIDATES',
  'FEATURES_UNAVAILABLE',
  'SIDECAR_UNAVAILABLE',
  'CACHED_DECISION',
  'WIDE_MARGIN',
] as const;
export type Reason = (typeof REASONS)[number];

/**
 * Degradations in force while answering; empty when everything was healthy
 * (DESIGN §6): the ranker is not answering (`model`: the rule scorer does),
 * the regional store is unreachable or answered from a stale cache (`redis`),
 * the inventory stream lags beyond its SLO (`stream-lag`), a node's feed is
 * silent (`stale-node`), the control plane's watch is broken and the last good
 * snapshot serves (`control-plane`), the filter answered without the sidecar
 * (`sidecar`), a neighbour region answers from escrow (`region-failover`), the
 * batch node features are older than their bound or missing (`batch-stale`),
 * the served features or scores drifted from the model's baselines and the
 * thresholds carry a drift margin until a retrained model is promoted (`drift`).
 */
export const DEGRADATIONS = [
  'model',
  'redis',
  'stream-lag',
  'stale-node',
  'control-plane',
  'sidecar',
  'region-failover',
  'batch-stale',
  'drift',
] as const;
export type Degradation = (typeof DEGRADATIONS)[number];

/**
 * What an answer's p_fulfill (and oversell_risk = 1 - p) numbers are. Only
 * `calibrated` is a probability: the model scored the request and its
 * bundle's calibration applied. `rule-score` is the rule scorer's score (no
 * model answered, `model_version` says `rules-only` or the model failed and
 * `degradations` has `model`); `stock-only` is the naive policy's 1 / 0.
 */
export const P_FULFILL_KINDS = ['calibrated', 'rule-score', 'stock-only'] as const;
export type PFulfillKind = (typeof P_FULFILL_KINDS)[number];

export interface CheckItem {
  sku: string;
  qty: number;
}

export interface CheckRequest {
  requestId: string;
  region: string;
  /** Coarse buyer zone (e.g. a postcode prefix); never an address or a user id. */
  buyerZone: string;
  channel: Channel;
  items: CheckItem[];
  /** The experiment bucket the filter computed from the buyer key (never the key itself). */
  experiment?: ExperimentTag;
}

export interface FulfillmentOption {
  nodeId: string;
  nodeType: NodeType;
  etaHours: number;
  cost: number;
  /** p_fulfill x utility: the ranking key. */
  score: number;
  pFulfill: number;
  reasons: Reason[];
}

export interface ItemDecision {
  sku: string;
  qty: number;
  available: boolean;
  pFulfill: number;
  unitsP10: number;
  oversellRisk: number;
  reasons: Reason[];
  options: FulfillmentOption[];
}

export interface CheckResponse {
  decisionId: string;
  requestId: string;
  region: string;
  channel: Channel;
  /** allow when every item is available. */
  decision: 'allow' | 'deny';
  mode: Mode;
  modelVersion: string;
  rulesVersion: string;
  degradations: Degradation[];
  items: ItemDecision[];
  /** What the items' p_fulfill numbers are (absent from answers built outside the engine, e.g. benchmarks). */
  pFulfillKind?: PFulfillKind;
}

/** Parses an untrusted request body (already JSON-decoded). Throws ContractError naming the field. */
export function parseCheckRequest(raw: unknown, defaults: { region?: string } = {}): CheckRequest {
  const o = asObject(raw, '$');
  const channel = reqEnum(o, 'channel', '', CHANNELS);
  const maxItems = channel === 'checkout' ? MAX_CHECKOUT_ITEMS : MAX_BROWSE_ITEMS;
  const rawItems = reqArray(o, 'items', '', 1, maxItems);
  const items: CheckItem[] = rawItems.map((it, i) => {
    const prefix = `items[${i}]`;
    const io = asObject(it, prefix);
    return { sku: reqId(io, 'sku', prefix), qty: reqInt(io, 'qty', prefix, 1, MAX_ITEM_QTY) };
  });
  if (channel === 'checkout') refuseRepeatedSkus(items);
  const region = optString(o, 'region', '', 64) ?? defaults.region;
  if (region === undefined) throw new ContractError('region', 'expected a string, got undefined');
  return {
    requestId: reqId(o, 'request_id', '', 128),
    region,
    buyerZone: reqId(o, 'buyer_zone', '', 32),
    channel,
    items,
    ...(o.experiment === undefined || o.experiment === null
      ? {}
      : { experiment: parseExperimentTag(o.experiment, 'experiment') }),
  };
}

/**
 * A checkout names each SKU once: its hold is keyed by (SKU, decision), so a
 * second line of the same SKU would be answered on the first line's hold
 * without its units being held (an oversell). The caller sends one item
 * with the total quantity. (Product pages hold nothing: repeats are fine.)
 */
function refuseRepeatedSkus(items: readonly CheckItem[]): void {
  if (items.length < 2) return;
  const first = new Map<string, number>();
  items.forEach((it, i) => {
    const j = first.get(it.sku);
    if (j !== undefined) {
      throw new ContractError(
        `items[${i}].sku`,
        `${it.sku} is already items[${j}]: send each SKU once, with the total quantity`,
      );
    }
    first.set(it.sku, i);
  });
}

/** JSON wire shape (snake_case), as the filter and HTTP clients see it. */
export function checkResponseToJson(r: CheckResponse): Record<string, unknown> {
  return {
    decision_id: r.decisionId,
    request_id: r.requestId,
    region: r.region,
    channel: r.channel,
    decision: r.decision,
    mode: r.mode,
    model_version: r.modelVersion,
    rules_version: r.rulesVersion,
    degradations: r.degradations,
    p_fulfill_kind: r.pFulfillKind,
    items: r.items.map((it) => ({
      sku: it.sku,
      qty: it.qty,
      available: it.available,
      p_fulfill: it.pFulfill,
      units_p10: it.unitsP10,
      oversell_risk: it.oversellRisk,
      reasons: it.reasons,
      options: it.options.map((op) => ({
        node_id: op.nodeId,
        node_type: op.nodeType,
        eta_hours: op.etaHours,
        cost: op.cost,
        score: op.score,
        p_fulfill: op.pFulfill,
        reasons: op.reasons,
      })),
    })),
  };
}

export function checkRequestToJson(r: CheckRequest): Record<string, unknown> {
  return {
    request_id: r.requestId,
    region: r.region,
    buyer_zone: r.buyerZone,
    channel: r.channel,
    items: r.items.map((it) => ({ sku: it.sku, qty: it.qty })),
    ...(r.experiment === undefined ? {} : { experiment: experimentTagToJson(r.experiment) }),
  };
}
