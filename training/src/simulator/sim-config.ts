/**
 * Configuration of the world simulator: every rate and range in one place,
 * with documented defaults. `resolveSimConfig(input)` merges a partial input
 * over the defaults and validates it, throwing an ATP_ERR_SIM_CONFIG
 * AtpError naming the field; inside the simulator the resolved config is
 * trusted.
 *
 * Time is compressed on purpose: handling and lead times are hours, not days,
 * so that a run of one million events (about a day and a half of simulated
 * time with the default world) contains many complete order lifecycles.
 */
import { AtpError } from '@mercato/platform/errors';
import type { NodeType } from '@mercato/proto/v1/decision';
import { ERR } from '../errors.js';

/** Upper bound of the transport delay of any event not held by a feed outage (ms). */
export const SIM_MAX_DELAY_MS = 60_000;
/**
 * Outages last at least this long, twice the delay bound, so events held by an
 * outage are always delivered after every event the node emitted before it.
 */
export const SIM_MIN_OUTAGE_MS = 2 * SIM_MAX_DELAY_MS;
/** 2026-01-05T00:00:00Z, a Monday. */
export const DEFAULT_START_TIME_MS = Date.UTC(2026, 0, 5);
/** Accepted simulated start times: 2000-01-01T00:00:00Z .. about year 2096 (epoch ms). */
export const MIN_START_TIME_MS = 946_684_800_000;
export const MAX_START_TIME_MS = 4_000_000_000_000;
/** Accepted answer timeouts of external routing: one second .. one day (simulated). */
export const MIN_RESOLVE_TIMEOUT_MS = 1_000;
export const MAX_RESOLVE_TIMEOUT_MS = 86_400_000;

export type Range = readonly [number, number];

/**
 * Who decides marketplace checkouts: the simulator's own naive ATP
 * ('internal', the stream every model is trained on) or a caller answering
 * through Simulator.resolveCheckout ('external': the closed-loop world,
 * where the real data plane decides).
 */
export const ROUTING_MODES = ['internal', 'external'] as const;
export type RoutingMode = (typeof ROUTING_MODES)[number];

/** How one node type behaves. Rates are means; each node draws its own factor around them. */
export interface NodeTypeBehaviour {
  count: number;
  /** Hours from promise to pick, drawn per node and rounded to a quarter hour. */
  handlingHours: Range;
  /** Largest zone distance served (grid steps), drawn per node. */
  serviceRadius: Range;
  baseCost: Range;
  /** Probability that a SKU of average popularity is stocked here (popular SKUs more, see build-world). */
  stockingShare: number;
  /** Transport delay of ordinary events, log-uniform (ms). */
  feedDelayMs: Range;
  /** Transport delay of local (walk-in POS / off-platform) sale events (ms). */
  localSaleDelayMs: Range;
  /** Unrecorded physical losses (theft, breakage nobody scanned), units per node-hour. */
  shrinkUnitsPerHour: number;
  /** Mean hours between two cycle counts of one (sku,node) pair; 0 = no routine counts. */
  countIntervalH: number;
  /** Share of receipts whose recorded quantity differs from what physically arrived. */
  receiptScanErrorRate: number;
  /** Sales outside the marketplace checkout (walk-in customers, seller's other channels), per node-hour. */
  localSalesPerHour: number;
  /** Share of local sales never recorded (missed POS scans, off-platform sales left to the next sync). */
  localSaleUnrecordedShare: number;
  /** Share of local sales reported late instead of at once (sellers' batch uploads). */
  localSaleLateShare: number;
  /** How late such a report comes (hours). */
  localSaleLateH: Range;
  /** Damaged-goods write-offs and found units, recorded (adjustment events), per node-hour. */
  adjustmentsPerHour: number;
  /** Replenishment lead time (hours). */
  leadTimeH: Range;
  /** Hours of expected demand the order-up-to level covers. */
  coverH: Range;
  /** Feed outages per node-day and their length (minutes, at least SIM_MIN_OUTAGE_MS). */
  outagesPerDay: number;
  outageMinutes: Range;
  /** Orders the node cancels although it may have stock (mean share; per node it varies). */
  nodeCancelRate: number;
  /** Full inventory syncs (cycle counts of every pair of the node) every this many hours; 0 = none. */
  syncIntervalH: number;
  /** Share of nodes with a daily order cap, and the cap range. */
  dailyCapShare: number;
  dailyCap: Range;
  /** Share of nodes with blackout hours. */
  blackoutShare: number;
}

export interface SimConfig {
  seed: number;
  startTimeMs: number;
  region: string;
  gridRows: number;
  gridCols: number;
  skuCount: number;
  /** Popularity of the SKU at rank r is 1 / r^zipfExponent. */
  zipfExponent: number;
  /** Share of SKUs (the most popular ones) that get flash sales. */
  hotSkuShare: number;
  /** Marketplace checkouts per second over the whole region (before flash-sale boosts). */
  checkoutsPerS: number;
  /** Probabilities of qty 1 and 2; the rest is spread evenly over 3..5. */
  qtyOneShare: number;
  qtyTwoShare: number;
  flashSalesPerHour: number;
  flashMinutes: Range;
  /** Demand of the SKU on sale is multiplied by a factor drawn from this range... */
  flashMultiplier: Range;
  /** ...but adds at most this many checkouts per second (a big SKU x50 would swamp the small world). */
  flashMaxExtraPerS: number;
  buyerCancelRate: number;
  returnRate: number;
  returnDelayH: Range;
  /** A failed pick triggers a cycle count this many minutes later. */
  failedPickCountMinutes: Range;
  heartbeatIntervalMs: number;
  /** Heartbeat period jitter, +/- ms. */
  heartbeatJitterMs: number;
  nodes: Record<NodeType, NodeTypeBehaviour>;
  /** Yield a `truth` record at every physical stock change. */
  emitTruth: boolean;
  /** Stop after the action that emits this many events (0 = no limit). */
  maxEvents: number;
  /** Stop at startTimeMs + durationMs of simulated time (0 = no limit). */
  durationMs: number;
  /** Who decides checkouts (see ROUTING_MODES); 'internal' keeps the default stream byte for byte. */
  routing: RoutingMode;
  /**
   * With external routing, checkouts before this simulated time are still
   * routed internally: the world fast-forwards a warm-up, then goes live.
   * 0 = external from the start.
   */
  externalFromMs: number;
  /**
   * With external routing, a checkout still unanswered this long (simulated
   * ms) after it was made counts as not promised, so an answer that never
   * comes cannot hold the checkout forever.
   */
  resolveTimeoutMs: number;
}

export type SimConfigInput = Partial<Omit<SimConfig, 'nodes'>> & {
  nodes?: Partial<Record<NodeType, Partial<NodeTypeBehaviour>>>;
};

const WAREHOUSE: NodeTypeBehaviour = {
  count: 8,
  handlingHours: [1, 2],
  serviceRadius: [3, 4],
  baseCost: [3, 5],
  stockingShare: 0.3,
  feedDelayMs: [50, 2_000],
  localSaleDelayMs: [50, 2_000],
  shrinkUnitsPerHour: 1,
  countIntervalH: 12,
  receiptScanErrorRate: 0.01,
  localSalesPerHour: 0,
  localSaleUnrecordedShare: 0,
  localSaleLateShare: 0,
  localSaleLateH: [0, 0],
  adjustmentsPerHour: 0.2,
  leadTimeH: [4, 8],
  coverH: [10, 24],
  outagesPerDay: 0.3,
  outageMinutes: [3, 10],
  nodeCancelRate: 0,
  syncIntervalH: 0,
  dailyCapShare: 0,
  dailyCap: [0, 0],
  blackoutShare: 0,
};

const STORE: NodeTypeBehaviour = {
  count: 20,
  handlingHours: [0.5, 1.5],
  serviceRadius: [1, 1],
  baseCost: [4, 6],
  stockingShare: 0.25,
  feedDelayMs: [200, 5_000],
  localSaleDelayMs: [1_000, 10_000],
  shrinkUnitsPerHour: 10,
  countIntervalH: 96,
  receiptScanErrorRate: 0.05,
  localSalesPerHour: 40,
  localSaleUnrecordedShare: 0.06,
  localSaleLateShare: 0,
  localSaleLateH: [0, 0],
  adjustmentsPerHour: 0.2,
  leadTimeH: [2, 6],
  coverH: [6, 16],
  outagesPerDay: 1,
  outageMinutes: [3, 15],
  nodeCancelRate: 0,
  syncIntervalH: 0,
  dailyCapShare: 0,
  dailyCap: [0, 0],
  blackoutShare: 0,
};

const SELLER: NodeTypeBehaviour = {
  count: 20,
  handlingHours: [2, 4],
  serviceRadius: [2, 4],
  baseCost: [2, 6],
  stockingShare: 0.06,
  feedDelayMs: [5_000, 60_000],
  localSaleDelayMs: [5_000, 60_000],
  shrinkUnitsPerHour: 0.05,
  countIntervalH: 0,
  receiptScanErrorRate: 0.01,
  localSalesPerHour: 15,
  localSaleUnrecordedShare: 0.6,
  localSaleLateShare: 0.3,
  localSaleLateH: [0.25, 3],
  adjustmentsPerHour: 0.05,
  leadTimeH: [3, 8],
  coverH: [12, 36],
  outagesPerDay: 2,
  outageMinutes: [5, 30],
  nodeCancelRate: 0.03,
  syncIntervalH: 8,
  dailyCapShare: 0.2,
  dailyCap: [40, 150],
  blackoutShare: 0.15,
};

export const DEFAULT_SIM_CONFIG: SimConfig = {
  seed: 1,
  startTimeMs: DEFAULT_START_TIME_MS,
  region: 'eu-west',
  gridRows: 5,
  gridCols: 5,
  skuCount: 2000,
  zipfExponent: 0.9,
  hotSkuShare: 0.02,
  checkoutsPerS: 1.5,
  qtyOneShare: 0.85,
  qtyTwoShare: 0.1,
  flashSalesPerHour: 2,
  flashMinutes: [10, 40],
  flashMultiplier: [20, 60],
  flashMaxExtraPerS: 0.6,
  buyerCancelRate: 0.04,
  returnRate: 0.05,
  returnDelayH: [24, 72],
  failedPickCountMinutes: [5, 30],
  heartbeatIntervalMs: 30_000,
  heartbeatJitterMs: 3_000,
  nodes: { warehouse: WAREHOUSE, store: STORE, seller: SELLER },
  emitTruth: false,
  maxEvents: 0,
  durationMs: 0,
  routing: 'internal',
  externalFromMs: 0,
  resolveTimeoutMs: 10 * 60_000,
};

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const MAX_GRID = 999;
const MS_PER_MIN = 60_000;

/** Merges `input` over DEFAULT_SIM_CONFIG and validates every field. */
export function resolveSimConfig(input: SimConfigInput = {}): SimConfig {
  const nodesIn = input.nodes ?? {};
  const c: SimConfig = {
    ...DEFAULT_SIM_CONFIG,
    ...stripUndefined(input),
    nodes: {
      warehouse: { ...WAREHOUSE, ...stripUndefined(nodesIn.warehouse ?? {}) },
      store: { ...STORE, ...stripUndefined(nodesIn.store ?? {}) },
      seller: { ...SELLER, ...stripUndefined(nodesIn.seller ?? {}) },
    },
  };
  int('seed', c.seed, 0, 0xffff_ffff);
  int('startTimeMs', c.startTimeMs, MIN_START_TIME_MS, MAX_START_TIME_MS);
  if (typeof c.region !== 'string' || !ID_RE.test(c.region)) {
    throw configError('region', 'must be an identifier (letters, digits, . _ : -)');
  }
  int('gridRows', c.gridRows, 1, MAX_GRID);
  int('gridCols', c.gridCols, 1, MAX_GRID);
  int('skuCount', c.skuCount, 1, 10_000_000);
  num('zipfExponent', c.zipfExponent, 0, 5);
  num('hotSkuShare', c.hotSkuShare, 0, 1);
  num('checkoutsPerS', c.checkoutsPerS, 0, 100_000);
  num('qtyOneShare', c.qtyOneShare, 0, 1);
  num('qtyTwoShare', c.qtyTwoShare, 0, 1 - c.qtyOneShare);
  num('flashSalesPerHour', c.flashSalesPerHour, 0, 1_000);
  range('flashMinutes', c.flashMinutes, 0, 24 * 60);
  range('flashMultiplier', c.flashMultiplier, 1, 1_000);
  num('flashMaxExtraPerS', c.flashMaxExtraPerS, 0, 100_000);
  num('buyerCancelRate', c.buyerCancelRate, 0, 1);
  num('returnRate', c.returnRate, 0, 1);
  range('returnDelayH', c.returnDelayH, 0, 24 * 365);
  range('failedPickCountMinutes', c.failedPickCountMinutes, 0, 24 * 60);
  int('heartbeatIntervalMs', c.heartbeatIntervalMs, 1_000, 3_600_000);
  int('heartbeatJitterMs', c.heartbeatJitterMs, 0, c.heartbeatIntervalMs - 1);
  if (typeof c.emitTruth !== 'boolean') throw configError('emitTruth', 'expected a boolean');
  int('maxEvents', c.maxEvents, 0, Number.MAX_SAFE_INTEGER);
  int('durationMs', c.durationMs, 0, Number.MAX_SAFE_INTEGER);
  if (!ROUTING_MODES.includes(c.routing))
    throw configError('routing', `expected one of ${ROUTING_MODES.join(', ')}`);
  if (c.externalFromMs !== 0) int('externalFromMs', c.externalFromMs, MIN_START_TIME_MS, MAX_START_TIME_MS);
  int('resolveTimeoutMs', c.resolveTimeoutMs, MIN_RESOLVE_TIMEOUT_MS, MAX_RESOLVE_TIMEOUT_MS);
  let total = 0;
  for (const t of ['warehouse', 'store', 'seller'] as const) {
    checkBehaviour(`nodes.${t}`, c.nodes[t]);
    total += c.nodes[t].count;
  }
  if (total === 0) throw configError('nodes', 'the world needs at least one node');
  return c;
}

function checkBehaviour(p: string, b: NodeTypeBehaviour): void {
  int(`${p}.count`, b.count, 0, 100_000);
  range(`${p}.handlingHours`, b.handlingHours, 0, 24 * 30);
  range(`${p}.serviceRadius`, b.serviceRadius, 0, MAX_GRID);
  if (!Number.isInteger(b.serviceRadius[0]) || !Number.isInteger(b.serviceRadius[1])) {
    throw configError(`${p}.serviceRadius`, 'expected whole grid steps');
  }
  range(`${p}.baseCost`, b.baseCost, 0, 1e6);
  num(`${p}.stockingShare`, b.stockingShare, 0, 1);
  range(`${p}.feedDelayMs`, b.feedDelayMs, 1, SIM_MAX_DELAY_MS);
  range(`${p}.localSaleDelayMs`, b.localSaleDelayMs, 1, SIM_MAX_DELAY_MS);
  num(`${p}.shrinkUnitsPerHour`, b.shrinkUnitsPerHour, 0, 1e6);
  num(`${p}.countIntervalH`, b.countIntervalH, 0, 1e6);
  num(`${p}.receiptScanErrorRate`, b.receiptScanErrorRate, 0, 1);
  num(`${p}.localSalesPerHour`, b.localSalesPerHour, 0, 1e6);
  num(`${p}.localSaleUnrecordedShare`, b.localSaleUnrecordedShare, 0, 1);
  num(`${p}.localSaleLateShare`, b.localSaleLateShare, 0, 1 - b.localSaleUnrecordedShare);
  range(`${p}.localSaleLateH`, b.localSaleLateH, 0, 24 * 30);
  num(`${p}.adjustmentsPerHour`, b.adjustmentsPerHour, 0, 1e6);
  range(`${p}.leadTimeH`, b.leadTimeH, 0, 24 * 365);
  range(`${p}.coverH`, b.coverH, 0, 24 * 365);
  num(`${p}.outagesPerDay`, b.outagesPerDay, 0, 1_000);
  range(`${p}.outageMinutes`, b.outageMinutes, SIM_MIN_OUTAGE_MS / MS_PER_MIN, 24 * 60);
  num(`${p}.nodeCancelRate`, b.nodeCancelRate, 0, 1);
  num(`${p}.syncIntervalH`, b.syncIntervalH, 0, 1e6);
  num(`${p}.dailyCapShare`, b.dailyCapShare, 0, 1);
  range(`${p}.dailyCap`, b.dailyCap, 0, 1e9);
  num(`${p}.blackoutShare`, b.blackoutShare, 0, 1);
}

function num(field: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw configError(field, 'expected a finite number');
  if (v < min || v > max) throw configError(field, `must be between ${min} and ${max}, got ${v}`);
}

function int(field: string, v: unknown, min: number, max: number): void {
  num(field, v, min, max);
  if (!Number.isInteger(v)) throw configError(field, `expected an integer, got ${v}`);
}

function range(field: string, v: unknown, min: number, max: number): void {
  if (!Array.isArray(v) || v.length !== 2) throw configError(field, 'expected [min, max]');
  num(`${field}[0]`, v[0], min, max);
  num(`${field}[1]`, v[1], min, max);
  if (v[0] > v[1]) throw configError(field, `min ${v[0]} is above max ${v[1]}`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** The field's problem, as the coded error every caller of resolveSimConfig sees. */
function configError(field: string, problem: string): AtpError {
  return new AtpError(ERR.SIM_CONFIG, `${field}: ${problem}`, field);
}
