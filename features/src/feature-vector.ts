/**
 * The model's input: one float32 vector per candidate (sku,node) for a
 * requested quantity at a decision time. Online ranking and offline training
 * both call `fillFeatureVector`; the manifest of every model bundle records
 * FEATURE_NAMES and `featureSchemaHash()`, and the sidecar refuses a bundle
 * whose hash differs.
 */
import { createHash } from 'node:crypto';
import { velocityAt } from './apply-event.js';
import { HEARTBEAT_STALE_MS } from './freshness.js';
import { NODE_TYPE_CODE, type NodeBatchFeatures, type NodeInfo } from './node-profile.js';
import { N, R } from './record-layout.js';

export const FEATURE_NAMES = [
  'qty',
  'on_hand',
  'reserved',
  'atp',
  'margin',
  'atp_per_qty',
  'stock_age_s',
  'heartbeat_age_s',
  'since_count_h',
  'last_count_delta',
  'loss_per_received',
  'velocity_per_h',
  'expected_depletion',
  'node_type',
  'node_loss_share',
  'node_scan_accuracy',
  'node_cancel_rate',
  'node_feed_delay_s',
  'handling_h',
  'cancel_share',
  'sku_rate_per_min',
  'stream_lag_s',
  'stale',
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];
export const FEATURE_COUNT = FEATURE_NAMES.length;
export const FEATURE_SCHEMA_VERSION = 1;

/** Stands for "never seen" in age features: far beyond any staleness limit. */
export const NEVER_AGE_S = 1e6;

/** Per-request context shared by all candidates of one item. */
export interface FeatureContext {
  qty: number;
  nowMs: number;
  skuRatePerMin: number;
  /** Consumer lag of the partition that carries this SKU, in ms of event time (0 when unknown). */
  streamLagMs: number;
}

/**
 * Writes FEATURE_COUNT floats at `out[outOff]`. `rec` may be undefined (the
 * pair was never seen: all stock zero). Pure: same inputs, same bits.
 */
export function fillFeatureVector(
  out: Float32Array,
  outOff: number,
  rec: Float64Array | undefined,
  recOff: number,
  nodeRec: Float64Array | undefined,
  node: NodeInfo,
  batch: NodeBatchFeatures,
  ctx: FeatureContext,
): void {
  const onHand = rec === undefined ? 0 : rec[recOff + R.onHand]!;
  const reserved = rec === undefined ? 0 : rec[recOff + R.reserved]!;
  const atp = onHand - reserved;
  const now = ctx.nowMs;
  const lastStock = rec === undefined ? 0 : rec[recOff + R.lastStockEventMs]!;
  const lastCount = rec === undefined ? 0 : rec[recOff + R.lastCountMs]!;
  const lastHb = nodeRec === undefined ? 0 : nodeRec[N.lastHeartbeatMs]!;
  const heartbeatAgeS = lastHb > 0 ? Math.max(0, now - lastHb) / 1000 : NEVER_AGE_S;
  const velocity = rec === undefined ? 0 : velocityAt(rec, recOff, now);
  const received = rec === undefined ? 0 : rec[recOff + R.receivedUnits]!;
  const loss = rec === undefined ? 0 : rec[recOff + R.countedLossUnits]!;
  const unseenH = node.handlingHours + batch.feedDelayP50S / 3600;

  let i = outOff;
  out[i++] = ctx.qty;
  out[i++] = onHand;
  out[i++] = reserved;
  out[i++] = atp;
  out[i++] = atp - ctx.qty;
  out[i++] = atp / ctx.qty;
  out[i++] = lastStock > 0 ? Math.max(0, now - lastStock) / 1000 : NEVER_AGE_S;
  out[i++] = heartbeatAgeS;
  out[i++] = lastCount > 0 ? Math.max(0, now - lastCount) / 3_600_000 : NEVER_AGE_S / 3600;
  out[i++] = rec === undefined ? 0 : rec[recOff + R.lastCountDelta]!;
  out[i++] = received > 0 ? loss / received : 0;
  out[i++] = velocity;
  out[i++] = velocity * unseenH;
  out[i++] = NODE_TYPE_CODE[node.nodeType];
  out[i++] = batch.lossShare;
  out[i++] = batch.scanAccuracy;
  out[i++] = batch.cancelRate;
  out[i++] = batch.feedDelayP50S;
  out[i++] = node.handlingHours;
  out[i++] = rec === undefined ? 0 : rec[recOff + R.cancelShare]!;
  out[i++] = ctx.skuRatePerMin;
  out[i++] = ctx.streamLagMs / 1000;
  out[i++] = heartbeatAgeS * 1000 > HEARTBEAT_STALE_MS[node.nodeType] ? 1 : 0;
}

/** Identifies the feature schema: names, order and version. Recorded in every model manifest. */
export function featureSchemaHash(): string {
  return createHash('sha256')
    .update(`v${FEATURE_SCHEMA_VERSION}:${FEATURE_NAMES.join(',')}`)
    .digest('hex')
    .slice(0, 16);
}
