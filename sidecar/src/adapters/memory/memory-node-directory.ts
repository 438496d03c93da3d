/** In-memory node directory: static NodeInfo plus versioned batch features. */
import type { NodeDirectory } from '../../decision/ports.js';
import {
  DEFAULT_BATCH_FEATURES,
  type NodeBatchFeatures,
  type NodeInfo,
} from '../../features/node-profile.js';

export class MemoryNodeDirectory implements NodeDirectory {
  private readonly nodes = new Map<string, NodeInfo>();
  private batches = new Map<string, NodeBatchFeatures>();
  batchVersion = 'none';

  constructor(nodes: Iterable<NodeInfo> = []) {
    for (const n of nodes) this.nodes.set(n.nodeId, n);
  }

  upsert(node: NodeInfo): void {
    this.nodes.set(node.nodeId, node);
  }

  /** Replaces all batch features at once, so readers never see a mix of two versions. */
  loadBatch(version: string, batches: Map<string, NodeBatchFeatures>): void {
    this.batches = new Map(batches);
    this.batchVersion = version;
  }

  info(nodeId: string): NodeInfo | undefined {
    return this.nodes.get(nodeId);
  }

  batch(nodeId: string): NodeBatchFeatures {
    return this.batches.get(nodeId) ?? DEFAULT_BATCH_FEATURES;
  }

  all(): NodeInfo[] {
    return [...this.nodes.values()];
  }
}
