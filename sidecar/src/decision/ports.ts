/**
 * The ports the decision core depends on. Adapters (memory, Redis, ONNX)
 * implement them; only factories (sidecar.ts) wire adapters to the core. No
 * file under decision/ imports ioredis, kafkajs, grpc or onnxruntime.
 */

import type { FeatureReader, SkuView } from '@mercato/features/store-ports';
import type { CheckRequest, CheckResponse } from '@mercato/proto/v1/decision';

/** Where a SkuView came from; the policy adds a staleness penalty to `stale-cache`. */
export type FeatureSource = 'store' | 'cache' | 'stale-cache';

export interface FeatureRead {
  view: SkuView;
  source: FeatureSource;
}

/**
 * A FeatureReader that can say how fresh its answer is (the hot cache in
 * front of Redis). `readSkuTracked` rejects only when neither the store nor a
 * stale cached copy can answer.
 */
export interface TrackedFeatureReader extends FeatureReader {
  readSkuTracked(sku: string, nowMs: number): Promise<FeatureRead>;
}

/** Outcome of a soft reservation attempt. */
export type ReserveOutcome =
  /** The hold is in place; `promised` counts every live hold on the (sku,node), this one included. */
  | { ok: true; promised: number; available: number }
  /** Not enough units left after the holds already promised. */
  | { ok: false; promised: number; available: number };

export interface ReserveRequest {
  sku: string;
  nodeId: string;
  qty: number;
  /** The decision id: the order service confirms or releases with it. */
  holdId: string;
  /** Sellable units (on hand - reserved) as the caller saw them; used when the store holds no stock record. */
  atpHint: number;
  nowMs: number;
  ttlMs: number;
}

/**
 * Soft reservations (DESIGN.md §3): an atomic check-and-promise so concurrent
 * checkouts cannot all be promised the last unit. A hold counts against
 * stock until it is confirmed by the order (then kept for a short bridge
 * until the feed shows the reservation), released on cancel, or expires.
 */
export interface ReservationStore {
  /** Rejects when the store is unreachable or too slow; the caller then decides without a hold. */
  reserve(req: ReserveRequest): Promise<ReserveOutcome>;
  /** The order was placed: keep the hold only until the feed catches up. False when no such hold is live. */
  confirm(sku: string, holdId: string, nowMs: number): Promise<boolean>;
  /** The order was cancelled or the decision abandoned: the units are free again. Idempotent. */
  release(sku: string, holdId: string): Promise<boolean>;
  /** Orders confirmed today (UTC) for a node, from a local copy; 0 when unknown. Sync: read per candidate. */
  ordersToday(nodeId: string, nowMs: number): number;
}

/**
 * The ranking model: raw probabilities for `rows` feature vectors of
 * FEATURE_COUNT floats each, in one batched run. Implementations: the ONNX
 * adapter; tests may wrap one to inject faults.
 */
export interface Ranker {
  readonly version: string;
  score(features: Float32Array, rows: number): Promise<Float32Array>;
  /** Present when the runtime scores synchronously: the caller skips a timer and a promise per request. */
  scoreSync?(features: Float32Array, rows: number): Float32Array;
}

/** Wall clock in ms; injected so tests and replays control time. */
export type Clock = () => number;

/** Per-request context an edge passes along with the parsed request. */
export interface CheckContext {
  /** Absolute deadline on the `performance.now()` clock; the engine gives up with DEADLINE_EXCEEDED past it. */
  deadlineAt?: number;
  /** Route the filter matched (header `x-atp-route`), for mode and kill-switch lookups. */
  route?: string;
}

/** What the edges (HTTP, gRPC) call: the decision engine, or a null handler in benchmarks. */
export interface DecisionService {
  check(req: CheckRequest, ctx?: CheckContext): Promise<CheckResponse>;
}
