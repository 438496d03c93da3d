/**
 * The ports the decision core depends on. Adapters (memory, Redis, ONNX) and
 * the sidecar's own services (control state, model registry, model guard,
 * decision log, metrics) implement them; only the factory (sidecar.ts) wires
 * them to the engine. No file under decision/ imports ioredis, kafkajs, grpc
 * or onnxruntime, nor a concrete class from another folder of the sidecar.
 */

import type { FeatureReader, SkuView } from '@mercato/features/store-ports';
import type { SellerConstraint } from '@mercato/proto/v1/control-snapshot';
import type { Channel, CheckRequest, CheckResponse, Mode } from '@mercato/proto/v1/decision';
import type { FeatureAuditRecord } from '@mercato/proto/v1/feature-audit';
import type { Calibration, DriftHistogram, Thresholds } from '@mercato/proto/v1/model-manifest';
import type { DecisionLogRecord } from '../decision-log/decision-log-record.js';

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
  | { ok: false; promised: number; available: number }
  /**
   * The store has no stock record for the (sku,node): it lost its state
   * (restart without data, failover to a lagging replica). Refused, never
   * promised from the caller's figure; the engine flags the answer `redis`.
   */
  | { ok: false; promised: number; available: -1; refusal: 'stock-missing' }
  /**
   * The store may have lost holds (store epoch not ready after a loss, a
   * reconnect not yet checked, a hot-SKU hold no replica acknowledged):
   * refused until the SKUs are refilled and the holds rebuilt; flagged `redis`.
   */
  | { ok: false; promised: number; available: -1; refusal: 'store-not-ready' };

export interface ReserveRequest {
  sku: string;
  nodeId: string;
  qty: number;
  /** The decision id: the order service confirms or releases with it. */
  holdId: string;
  /**
   * Sellable units (on hand - reserved) as the caller saw them. Only a store
   * with no stock of its own (the embedded memory store) counts from it; the
   * Redis store never does (DESIGN.md §6 "Redis lost its state").
   */
  atpHint: number;
  nowMs: number;
  ttlMs: number;
  /** A hot SKU: the store may make the hold durable on a replica first (Redis WAIT). */
  hot?: boolean;
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

/** Why a ranker run did not answer: the rule scorer answers instead (`degraded: model`). */
export type RankFallback = 'timeout' | 'error' | 'circuit-open';

export type RankResult =
  | { ok: true; pRaw: Float32Array; ms: number }
  | { ok: false; cause: RankFallback; error?: Error; ms: number };

/**
 * Runs the ranker under a latency budget and a circuit breaker (the model
 * guard). Called once per request that has rows to score; never rejects:
 * a failed run is a `{ ok: false }` result.
 */
export interface RankerGuard {
  /** `lane`: the request's channel; a lane's failures open only its own breaker (default checkout). */
  rank(
    ranker: Ranker,
    batch: Float32Array,
    rows: number,
    budgetMs: number,
    lane?: Channel,
  ): Promise<RankResult>;
}

/** A loaded, verified model as the engine uses it: its ranker and the numbers of its bundle. */
export interface ScoringModel {
  readonly version: string;
  readonly thresholds: Thresholds;
  readonly calibration: Calibration;
  readonly ranker: Ranker;
  /** The bundle's per-feature training histograms (drift baselines); absent for models built in code. */
  readonly driftBaseline?: Readonly<Record<string, DriftHistogram>>;
}

/**
 * Online drift of what the model is served (sidecar/src/drift): fed every
 * scored candidate row, read per request for the drift margin.
 */
export interface DriftWatch {
  /** A drift alarm is in force for the version: its thresholds carry the drift margin. */
  drifting(version: string): boolean;
  /**
   * Counts one served row: `x[offset ..]` is the model input, `pCal` its
   * calibrated score, `recordKey` a 32-bit key of its (sku, node) record
   * (repeated reads of one record are not independent rows).
   */
  observe(
    version: string,
    baseline: Readonly<Record<string, DriftHistogram>>,
    x: Float32Array,
    offset: number,
    pCal: number,
    recordKey: number,
    nowMs: number,
  ): void;
}

/** The served side of the skew audit: a sample of requests has its served vectors recorded. */
export interface ServedFeatureAudit {
  /** The sidecar's region, written in every record. */
  readonly region: string;
  /** Called once per scored request: true when this one is audited. */
  sample(): boolean;
  /** Queues one served vector; never waits, never throws. */
  record(r: FeatureAuditRecord): void;
}

/**
 * The served rows kept with recent decisions (the sidecar's decision ring,
 * when it is on): each scored candidate's model input, for the console's
 * decision explorer. Called per scored candidate only when configured.
 */
export interface ServedRowSink {
  /** Copies the row `x[offset ..]` (FEATURE_COUNT floats) of candidate (sku, node); never throws. */
  keep(decisionId: string, sku: string, node: string, x: Float32Array, offset: number): void;
}

/**
 * Where the engine gets its model for one request (the model registry). A
 * model taken with `acquire` / `acquireVersion` stays usable until `done`,
 * even if it is swapped out meanwhile.
 */
export interface ModelSource {
  /** The model new requests answer with, or null (rules only). */
  readonly active: ScoringModel | null;
  /** A model was configured: answering without one is a degradation (`model`). */
  readonly expected: boolean;
  /** Takes the active model for one request; null when none is active. */
  acquire(): ScoringModel | null;
  /** Takes a specific loaded version (a staged rollout's share); null when it is not loaded. */
  acquireVersion(version: string): ScoringModel | null;
  /** Gives back a model taken with acquire / acquireVersion. */
  done(model: ScoringModel): void;
}

/**
 * What the engine reads of the control snapshot (ControlState implements
 * it). Every lookup is a Map or Set read: it runs per request or per item.
 */
export interface ControlView {
  /** Version of the rules in force, reported with every answer. */
  readonly rulesVersion: string;
  /** Mode for a request on `route` (rollout share by request id); `fallback` when no route matches. */
  modeFor(route: string, requestId: string, fallback: Mode): Mode;
  /** Global, region or route kill switch for `route`, or null. */
  killedFor(route: string): { reason: string } | null;
  /** Reason of a compliance hold on `sku`, or undefined. */
  holdOn(sku: string): string | undefined;
  /** Reason of a SKU kill switch, or undefined. */
  skuKilled(sku: string): string | undefined;
  /** The control plane's constraint for a seller node, or undefined (the directory's facts apply). */
  seller(nodeId: string): SellerConstraint | undefined;
}

/**
 * Which side answers (the others are logged): the shadow evaluation switch.
 * `model` answers when a model scored the request (else the baseline does);
 * `baseline` is the rule scorer; `naive` is plain available-to-promise (on
 * hand - reserved >= qty at some serviceable node), a closed-loop world's
 * reference policy (policies/naive-atp.ts).
 */
export type EnforcedSide = 'model' | 'baseline' | 'naive';

/** Where the engine hands one record per answered request (the decision log). Never waits, never throws. */
export interface DecisionSink {
  push(record: DecisionLogRecord): void;
}

/** What the engine reports to metrics (observability/metrics.ts); each call is cheap and synchronous. */
export interface DecisionObserver {
  decided(r: CheckResponse, latencyS: number): void;
  ranked(rows: number, ms: number): void;
  rankerFallback(cause: RankFallback): void;
  reservation(outcome: 'held' | 'refused' | 'unavailable'): void;
  featureRead(source: FeatureSource | 'unavailable'): void;
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
