/**
 * The ports of the regional feature store, shared by its writer (the
 * ingester), its readers (the sidecar's decision core) and the offline path:
 * the memory and Redis adapters in @mercato/adapters implement them. Nothing
 * here imports a client library.
 */

import type { InventoryEvent } from '@mercato/proto/v1/inventory-event';
import type { LagReport, TopicMeta } from '@mercato/proto/v1/stream-lag';
import type { NodeBatchFeatures, NodeInfo } from './node-profile.js';

/** Every node that holds stock state for one SKU, read in one round trip. */
export interface SkuView {
  nodeIds: string[];
  /** RECORD_WIDTH float64 slots per node, in nodeIds order. */
  recs: Float64Array;
  /** NODE_RECORD_WIDTH float64 slots per node (heartbeats), in nodeIds order. */
  nodeRecs: Float64Array;
}

export interface FeatureReader {
  /**
   * Called once per item of a request; the result is a snapshot the caller may
   * keep. Rejects when the store cannot answer (the caller degrades).
   */
  readSku(sku: string): Promise<SkuView>;
}

/** Route (ETA, cost) from a node to a buyer zone the node serves. */
export interface ZoneRoute {
  node: NodeInfo;
  etaHours: number;
  cost: number;
}

/** Which published set a reader serves (proto/v1/node-directory.ts: sets are versioned). */
export interface NodeSetInfo {
  version: string;
  /** When the batch job computed the set (ms): the age the sidecar compares with its bound. */
  computedAtMs: number;
}

export interface NodeDirectory {
  /** Directory facts, or undefined for a node the directory does not know (never a candidate). */
  info(nodeId: string): NodeInfo | undefined;
  /** Batch features of the node (defaults when the batch job has not covered it). */
  batch(nodeId: string): NodeBatchFeatures;
  /** Version of the batch features served; `none` while every node gets the defaults. */
  readonly batchVersion: string;
  /**
   * The batch feature set served, or null while none was loaded (every node
   * gets the defaults). The sidecar reports the version and flags
   * `batch-stale` when computedAtMs is older than its bound.
   */
  batchInfo(): NodeSetInfo | null;
  /** Version of the directory served; `none` when it was not loaded from a published set (built in memory). */
  readonly directoryVersion: string;
  /** The directory set served, or null when it was not loaded from a published set. */
  directoryInfo(): NodeSetInfo | null;
  /**
   * Nodes of `region` that serve `buyerZone`, keyed by node id, with ETA and
   * cost precomputed. Cached per zone by implementations; called per item.
   */
  serviceable(region: string, buyerZone: string): ReadonlyMap<string, ZoneRoute>;
}

/**
 * Health of the inventory stream, as the ingester measures it (consumer lag
 * of the partition that carries a SKU, in ms of event time). The Kafka
 * ingester provides the real reader; until then an in-memory one says 0.
 */
export interface StreamHealth {
  /** Lag of the partition carrying `sku`, in ms; 0 when caught up or unknown. Sync: read per item. */
  lagMsForSku(sku: string): number;
}

/** Counters of one apply (RedisFeatureStore's ApplyReport has this shape). */
export interface ApplyCounts {
  applied: number;
  duplicates: number;
  gapsSkipped: number;
  heartbeats: number;
  /** SKUs that still hold out-of-order events after this call. */
  skusWithPending: string[];
}

/** The regional feature store as the ingester writes it. */
export interface FeatureSink {
  /** Applies delivered events (any order, duplicates allowed); resolves only when every write is acknowledged. */
  applyEvents(events: readonly InventoryEvent[]): Promise<ApplyCounts>;
  /** Gives up on gaps older than the gap timeout behind `watermarkMs` in these SKUs. */
  flushGaps(skus: readonly string[], watermarkMs: number): Promise<ApplyCounts>;
}

/** Ingest bookkeeping kept beside the features: lag reports and SKUs with held events. */
export interface IngestStateStore {
  /** Writes the reports of the partitions this ingester owns, and the topic's shape once known. */
  writeLag(meta: TopicMeta | null, reports: readonly LagReport[]): Promise<void>;
  /** SKUs of `partition` known to hold out-of-order events. */
  pendingSkus(partition: number): Promise<string[]>;
  /** Records SKUs that now hold events (add) or no longer do (remove). */
  markPending(partition: number, add: readonly string[], remove: readonly string[]): Promise<void>;
}
