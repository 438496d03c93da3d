/**
 * Dataset builder: replays a stream of simulator records (delivery order)
 * through the sidecar's own feature module and emits one labelled row per
 * (checkout, candidate). What a row holds, and why:
 *
 * - streaming features: every `event` record is applied to a FeatureState
 *   the moment it is delivered, exactly as the ingester applies it; gaps are
 *   given up on as the ingester does (flushGaps each GAP_FLUSH_STEP_MS of
 *   event-time watermark);
 * - `sku_rate_per_min`: a SkuRateSketch observes every checkout in order; a
 *   checkout is observed BEFORE its rate is read, so the rate counts the
 *   request being decided (the sidecar records a request, then scores it);
 * - `stream_lag_s` = 0: the replay applies each event at its delivery time,
 *   so the consumer never lags behind delivery (transport delay and feed
 *   outages are already in the delivery times);
 * - batch node features: a NodeBatchAccumulator sees every delivered event;
 *   a snapshot is taken at the end of the warm-up and every batchIntervalMs
 *   after it, and a row uses the newest snapshot taken at or before its
 *   decision time: built from events delivered strictly before that boundary,
 *   so a batch feature never sees the future of the rows it feeds;
 * - rows start after the warm-up (batch features need history) and hold
 *   label LABEL_PENDING until their checkout's `outcome` arrives; then row i
 *   gets feasible[i] (could the node ship qty at its pick time). The run's
 *   last checkouts cannot all be labelled (the world stops before their pick
 *   times); to drop them without bias (a checkout with only fast nodes
 *   would survive longer than one with a slow seller), every checkout
 *   decided later than the last decision minus the directory's longest
 *   handling time is dropped, whatever its outcome. Cancelled
 *   orders keep their rows and labels: feasibility is physical truth,
 *   measured for every candidate whatever happened to the order; a seller
 *   cancellation is not a stock error (as in the simulator's own report) and
 *   is kept in the `cancelled` column for the report. Checkouts whose outcome
 *   never arrives (the run ended first) are dropped.
 *
 * The node directory (NodeInfo: what the sidecar also knows) is the only
 * world knowledge used; hidden node traits are never read.
 */

import { FeatureState } from '@mercato/features/feature-state';
import { FEATURE_COUNT, fillFeatureVector } from '@mercato/features/feature-vector';
import { NodeBatchAccumulator } from '@mercato/features/node-batch-features';
import {
  DEFAULT_BATCH_FEATURES,
  NODE_TYPE_CODE,
  type NodeBatchFeatures,
  type NodeInfo,
} from '@mercato/features/node-profile';
import { SkuRateSketch } from '@mercato/features/sku-rate-sketch';
import { AtpError } from '@mercato/platform/errors';
import { ERR } from '../errors.js';
import type { SimRecord } from '../simulator/sim-record.js';
import {
  CANCELLED_BY_BUYER,
  CANCELLED_BY_SELLER,
  type DecisionRows,
  DecisionRowsBuilder,
  LABEL_PENDING,
} from './decision-rows.js';

/** Expired sequence gaps are flushed when the watermark moved this much (the ingester's step). */
export const GAP_FLUSH_STEP_MS = 5_000;
/** Consumer lag offline: events are applied at their delivery time. */
export const OFFLINE_STREAM_LAG_MS = 0;
const MS_PER_H = 3_600_000;
/** Progress is reported every this many records. */
const PROGRESS_EVERY_RECORDS = 16_384;

export interface DatasetOptions {
  /** No rows before firstRecordMs + warmupMs; the first batch snapshot is taken there. */
  warmupMs: number;
  /** Batch features are refreshed this often after the warm-up (0 = one snapshot, at the warm-up end). */
  batchIntervalMs: number;
  /** Called every few thousand records with the simulated time reached. */
  onProgress?: (recordsSeen: number, atMs: number) => void;
}

/** One batch-feature snapshot: its version, when it was taken, and how much history it saw. */
export interface BatchVersion {
  version: number;
  /** Boundary: built from events delivered strictly before this time; serves rows from here on. */
  asOfMs: number;
  eventsSeen: number;
  nodes: number;
}

export interface DatasetWindow {
  firstRecordMs: number;
  warmupEndMs: number;
  firstDecisionMs: number;
  lastDecisionMs: number;
  /** Rows decided after this were dropped (last decision - longest handling time). */
  labelledUntilMs: number;
  records: number;
  events: number;
  checkouts: number;
  /** Checkouts decided after the warm-up. */
  checkoutsInWindow: number;
  rowsDropped: number;
  batchVersions: BatchVersion[];
}

export interface DecisionDataset extends DecisionRows {
  window: DatasetWindow;
}

/** Replays `stream` (delivery order) against the node directory `nodes` and returns the labelled rows. */
export function buildDataset(
  stream: Iterable<SimRecord>,
  nodes: readonly NodeInfo[],
  options: DatasetOptions,
): DecisionDataset {
  const directory = new Map(nodes.map((n) => [n.nodeId, n]));
  const state = new FeatureState();
  const acc = new NodeBatchAccumulator();
  const sketch = new SkuRateSketch();
  const out = new DecisionRowsBuilder();
  /** checkoutId -> [first row, candidate count]. */
  const pending = new Map<string, [number, number]>();
  let batch: Map<string, NodeBatchFeatures> = new Map();
  const versions: BatchVersion[] = [];

  let firstMs = Number.NaN;
  let warmupEnd = Number.POSITIVE_INFINITY;
  let nextBatchMs = Number.POSITIVE_INFINITY;
  let watermark = 0;
  let flushedAt = 0;
  let records = 0;
  let events = 0;
  let checkouts = 0;
  let inWindow = 0;
  let firstDecision = Number.NaN;
  let lastDecision = Number.NaN;
  const ctx = { qty: 1, nowMs: 0, skuRatePerMin: 0, streamLagMs: OFFLINE_STREAM_LAG_MS };

  for (const r of stream) {
    records++;
    const t = r.type === 'event' ? r.deliverAtMs : r.atMs;
    if (Number.isNaN(firstMs)) {
      firstMs = t;
      warmupEnd = t + options.warmupMs;
      nextBatchMs = warmupEnd;
    }
    // Snapshot before handling the first record at or after the boundary: it holds only earlier deliveries.
    while (t >= nextBatchMs) {
      batch = acc.result();
      versions.push({
        version: versions.length + 1,
        asOfMs: nextBatchMs,
        eventsSeen: events,
        nodes: batch.size,
      });
      nextBatchMs =
        options.batchIntervalMs > 0 ? nextBatchMs + options.batchIntervalMs : Number.POSITIVE_INFINITY;
    }
    if (options.onProgress !== undefined && records % PROGRESS_EVERY_RECORDS === 0)
      options.onProgress(records, t);

    switch (r.type) {
      case 'event': {
        events++;
        const e = r.event;
        state.apply(e);
        acc.observe(e, r.deliverAtMs);
        if (e.eventTimeMs > watermark) watermark = e.eventTimeMs;
        if (watermark - flushedAt >= GAP_FLUSH_STEP_MS) {
          state.flushGaps(watermark);
          flushedAt = watermark;
        }
        break;
      }
      case 'checkout': {
        checkouts++;
        sketch.observe(r.sku, r.atMs);
        if (r.atMs < warmupEnd || r.candidates.length === 0) break;
        inWindow++;
        if (Number.isNaN(firstDecision)) firstDecision = r.atMs;
        lastDecision = r.atMs;
        ctx.qty = r.qty;
        ctx.nowMs = r.atMs;
        ctx.skuRatePerMin = sketch.ratePerMin(r.sku, r.atMs);
        let first = -1;
        for (let k = 0; k < r.candidates.length; k++) {
          const nodeId = r.candidates[k]!;
          const node = directory.get(nodeId);
          if (node === undefined)
            throw new AtpError(ERR.DATASET_INVALID, `checkout ${r.checkoutId} names unknown node ${nodeId}`);
          const row = out.add(r.atMs, checkouts, k, NODE_TYPE_CODE[node.nodeType]);
          if (first < 0) first = row;
          if (nodeId === r.promisedNode) out.promisedBySim[row] = 1;
          fillFeatureVector(
            out.x,
            row * FEATURE_COUNT,
            state.get(r.sku, nodeId),
            0,
            state.getNode(nodeId),
            node,
            batch.get(nodeId) ?? DEFAULT_BATCH_FEATURES,
            ctx,
          );
        }
        pending.set(r.checkoutId, [first, r.candidates.length]);
        break;
      }
      case 'outcome': {
        const p = pending.get(r.checkoutId);
        if (p === undefined) break; // decided during the warm-up
        pending.delete(r.checkoutId);
        const [first, count] = p;
        if (r.feasible.length !== count) {
          throw new AtpError(
            ERR.DATASET_INVALID,
            `outcome ${r.checkoutId} has ${r.feasible.length} labels for ${count} candidates`,
          );
        }
        const cancelled =
          r.cancelledBy === 'buyer'
            ? CANCELLED_BY_BUYER
            : r.cancelledBy === 'seller'
              ? CANCELLED_BY_SELLER
              : 0;
        for (let k = 0; k < count; k++) {
          out.y[first + k] = r.feasible[k] ? 1 : 0;
          out.cancelled[first + k] = cancelled;
        }
        break;
      }
      case 'order-outcome':
        // Only an external-routing world yields them; its labels are the outcome records above.
        break;
      case 'truth':
        // Physical truth is for simulator tests; a model must learn from what the system sees.
        break;
    }
  }
  // Unbiased end of the window (see above): later checkouts are dropped whether or not they got an outcome.
  let maxHandlingMs = 0;
  for (const n of nodes) maxHandlingMs = Math.max(maxHandlingMs, n.handlingHours * MS_PER_H);
  const cutoffMs = lastDecision - maxHandlingMs;
  for (let i = out.rows - 1; i >= 0 && out.atMs[i]! > cutoffMs; i--) out.y[i] = LABEL_PENDING;
  const rowsOut = out.finish();
  return {
    ...rowsOut,
    window: {
      firstRecordMs: firstMs,
      warmupEndMs: warmupEnd,
      firstDecisionMs: firstDecision,
      lastDecisionMs: lastDecision,
      labelledUntilMs: cutoffMs,
      records,
      events,
      checkouts,
      checkoutsInWindow: inWindow,
      rowsDropped: rowsOut.dropped,
      batchVersions: versions,
    },
  };
}
