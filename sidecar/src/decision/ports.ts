/**
 * The ports the decision core depends on. Adapters (memory, Redis) implement
 * them; only factories wire adapters to the core.
 */
import type { NodeBatchFeatures, NodeInfo } from '../features/node-profile.js';

/** Every node that holds stock state for one SKU, read in one round trip. */
export interface SkuView {
  nodeIds: string[];
  /** RECORD_WIDTH float64 slots per node, in nodeIds order. */
  recs: Float64Array;
  /** NODE_RECORD_WIDTH float64 slots per node (heartbeats), in nodeIds order. */
  nodeRecs: Float64Array;
}

export interface FeatureReader {
  /** Called once per item of a request; the result is a snapshot the caller may keep. */
  readSku(sku: string): Promise<SkuView>;
}

export interface NodeDirectory {
  /** Directory facts, or undefined for a node the directory does not know (never a candidate). */
  info(nodeId: string): NodeInfo | undefined;
  /** Batch features of the node (defaults when the batch job has not covered it). */
  batch(nodeId: string): NodeBatchFeatures;
  readonly batchVersion: string;
}

/** Wall clock in ms; injected so tests and replays control time. */
export type Clock = () => number;
