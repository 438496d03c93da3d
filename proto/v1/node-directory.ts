/**
 * Node directory and batch node features, version 1: what the sidecar knows
 * about a fulfillment node apart from its stock. The directory (facts a
 * marketplace's warehouse and seller systems own: type, place, handling time,
 * seller constraints) and the batch features (computed offline from the
 * event history and order outcomes by the `batch` job) are published into
 * the regional store by that job and read by every sidecar of the region.
 *
 * Wire encoding: one JSON object per directory entry (snake_case, schema tag
 * `node.directory.v1`), in NDJSON files and Redis hash values; batch features
 * likewise per node (`node.batch-features.v1`) inside a versioned set.
 * See proto/v1/node_directory.md.
 */
import type { NodeType } from './decision.js';
import { NODE_TYPES } from './decision.js';
import {
  asObject,
  join as at,
  ContractError,
  type Obj,
  parseJsonText as parseJson,
  reqEnum,
  reqId,
  reqInt,
  reqNumber,
  reqString,
} from './validate.js';

export const NODE_DIRECTORY_SCHEMA = 'node.directory.v1';
export const BATCH_FEATURES_SCHEMA = 'node.batch-features.v1';

/** Zones are grid cells named `Z<row>-<col>` (coarse: never an address). */
export const ZONE_RE = /^Z\d{1,3}-\d{1,3}$/;
/** Handling time and service radius bounds: beyond them the entry is corrupt, not a slow seller. */
export const MAX_HANDLING_HOURS = 24 * 14;
export const MAX_SERVICE_RADIUS = 1_000;
export const MAX_DAILY_ORDER_CAP = 10_000_000;
export const MAX_BASE_COST = 1_000_000;

export interface NodeInfo {
  nodeId: string;
  nodeType: NodeType;
  region: string;
  /** Coarse zone the node sits in; ETA and serviceability derive from zone distance. */
  zone: string;
  /** Hours from promise to pick (seller handling time, warehouse cut-off). */
  handlingHours: number;
  /** Fixed cost of shipping one order from this node (currency units). */
  baseCost: number;
  /** Largest zone distance the node ships to (grid steps). */
  serviceRadius: number;
  /** Seller constraint: orders per day (0 = no cap). */
  dailyOrderCap: number;
  /** Seller constraint: hours of day (UTC, [start,end)) when the node takes no orders; null = none. */
  blackoutHoursUtc: [number, number] | null;
}

/** Batch features per node, computed offline from history and published as a versioned set. */
export interface NodeBatchFeatures {
  /** Share of received units later found missing by cycle counts (unrecorded shrink). */
  lossShare: number;
  /** Share of cycle counts that matched the system count within one unit. */
  scanAccuracy: number;
  /** Share of reservations that ended in cancellation. */
  cancelRate: number;
  /** Median delay from event time to delivery (seconds). */
  feedDelayP50S: number;
  /** Share of fulfilled orders picked by their due time (handling adherence). */
  handlingAdherence: number;
}

/** A published set of batch features: one version, one window of history, every node it covers. */
export interface BatchFeatureSet {
  /** `batch-<window end, UTC compact>-<8 hex of content>`; sidecars report the one they read. */
  version: string;
  region: string;
  /** When the job computed the set (ms); the sidecar flags features older than their bound. */
  computedAtMs: number;
  windowStartMs: number;
  windowEndMs: number;
  nodes: Map<string, NodeBatchFeatures>;
}

export interface NodeInfoWire {
  schema: typeof NODE_DIRECTORY_SCHEMA;
  node_id: string;
  node_type: NodeType;
  region: string;
  zone: string;
  handling_hours: number;
  base_cost: number;
  service_radius: number;
  daily_order_cap: number;
  blackout_hours_utc: [number, number] | null;
}

export function nodeInfoToWire(n: NodeInfo): NodeInfoWire {
  return {
    schema: NODE_DIRECTORY_SCHEMA,
    node_id: n.nodeId,
    node_type: n.nodeType,
    region: n.region,
    zone: n.zone,
    handling_hours: n.handlingHours,
    base_cost: n.baseCost,
    service_radius: n.serviceRadius,
    daily_order_cap: n.dailyOrderCap,
    blackout_hours_utc: n.blackoutHoursUtc,
  };
}

export function encodeNodeInfo(n: NodeInfo): string {
  return JSON.stringify(nodeInfoToWire(n));
}

/** Parses one untrusted directory entry (a file line, a Redis value). Throws ContractError naming the field. */
export function parseNodeInfo(raw: unknown, prefix = ''): NodeInfo {
  const o = asObject(raw, prefix === '' ? '$' : prefix);
  if (o.schema !== NODE_DIRECTORY_SCHEMA) {
    throw new ContractError(at(prefix, 'schema'), `expected "${NODE_DIRECTORY_SCHEMA}"`);
  }
  const zone = reqString(o, 'zone', prefix, 16);
  if (!ZONE_RE.test(zone)) throw new ContractError(at(prefix, 'zone'), 'expected a coarse zone Z<row>-<col>');
  return {
    nodeId: reqId(o, 'node_id', prefix),
    nodeType: reqEnum(o, 'node_type', prefix, NODE_TYPES),
    region: reqId(o, 'region', prefix, 64),
    zone,
    handlingHours: reqNumber(o, 'handling_hours', prefix, 0, MAX_HANDLING_HOURS),
    baseCost: reqNumber(o, 'base_cost', prefix, 0, MAX_BASE_COST),
    serviceRadius: reqInt(o, 'service_radius', prefix, 0, MAX_SERVICE_RADIUS),
    dailyOrderCap: reqInt(o, 'daily_order_cap', prefix, 0, MAX_DAILY_ORDER_CAP),
    blackoutHoursUtc: blackout(o, prefix),
  };
}

export function decodeNodeInfo(text: string): NodeInfo {
  return parseNodeInfo(parseJson(text));
}

export interface NodeBatchFeaturesWire {
  schema: typeof BATCH_FEATURES_SCHEMA;
  node_id: string;
  loss_share: number;
  scan_accuracy: number;
  cancel_rate: number;
  feed_delay_p50_s: number;
  handling_adherence: number;
}

export function encodeBatchFeatures(nodeId: string, f: NodeBatchFeatures): string {
  const w: NodeBatchFeaturesWire = {
    schema: BATCH_FEATURES_SCHEMA,
    node_id: nodeId,
    loss_share: f.lossShare,
    scan_accuracy: f.scanAccuracy,
    cancel_rate: f.cancelRate,
    feed_delay_p50_s: f.feedDelayP50S,
    handling_adherence: f.handlingAdherence,
  };
  return JSON.stringify(w);
}

/** Largest feed delay a batch set may report (a day): beyond it the value is corrupt. */
export const MAX_FEED_DELAY_S = 86_400;

export function parseBatchFeatures(
  raw: unknown,
  prefix = '',
): { nodeId: string; features: NodeBatchFeatures } {
  const o = asObject(raw, prefix === '' ? '$' : prefix);
  if (o.schema !== BATCH_FEATURES_SCHEMA) {
    throw new ContractError(at(prefix, 'schema'), `expected "${BATCH_FEATURES_SCHEMA}"`);
  }
  return {
    nodeId: reqId(o, 'node_id', prefix),
    features: {
      lossShare: reqNumber(o, 'loss_share', prefix, 0, 1),
      scanAccuracy: reqNumber(o, 'scan_accuracy', prefix, 0, 1),
      cancelRate: reqNumber(o, 'cancel_rate', prefix, 0, 1),
      feedDelayP50S: reqNumber(o, 'feed_delay_p50_s', prefix, 0, MAX_FEED_DELAY_S),
      handlingAdherence: reqNumber(o, 'handling_adherence', prefix, 0, 1),
    },
  };
}

export function decodeBatchFeatures(text: string): { nodeId: string; features: NodeBatchFeatures } {
  return parseBatchFeatures(parseJson(text));
}

/** Version names travel in Redis keys, headers and metric labels. */
export const BATCH_VERSION_RE = /^batch-[0-9A-Za-z._-]{1,80}$/;

export function checkBatchVersion(v: string, field = 'version'): string {
  if (!BATCH_VERSION_RE.test(v))
    throw new ContractError(field, 'expected batch-<id> (letters, digits, . _ -)');
  return v;
}

function blackout(o: Obj, prefix: string): [number, number] | null {
  const v = o.blackout_hours_utc;
  const field = at(prefix, 'blackout_hours_utc');
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((h) => Number.isInteger(h) && h >= 0 && h <= 24)) {
    throw new ContractError(field, 'expected null or [start, end] whole hours 0..24 (UTC)');
  }
  return [v[0] as number, v[1] as number];
}
