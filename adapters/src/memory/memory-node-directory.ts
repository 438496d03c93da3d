/**
 * In-memory node directory: static NodeInfo plus versioned batch features,
 * and a per-zone serviceability index (which nodes of a region serve a
 * coarse buyer zone, with ETA and cost) built on first use of a zone and
 * dropped whenever the directory changes. The Redis directory keeps one of
 * these as its local copy.
 */

import {
  DEFAULT_BATCH_FEATURES,
  etaHours,
  type NodeBatchFeatures,
  type NodeInfo,
  serves,
  shippingCost,
} from '@mercato/features/node-profile';
import type { NodeDirectory, NodeSetInfo, ZoneRoute } from '@mercato/features/store-ports';

/** Zones indexed at most; past it the index is rebuilt (buyer zones are coarse, so this is not reached). */
export const MAX_INDEXED_ZONES = 20_000;

export class MemoryNodeDirectory implements NodeDirectory {
  private readonly nodes = new Map<string, NodeInfo>();
  private batches = new Map<string, NodeBatchFeatures>();
  private zoneIndex = new Map<string, Map<string, ZoneRoute>>();
  private batchSet: NodeSetInfo | null = null;
  private directorySet: NodeSetInfo | null = null;

  constructor(nodes: Iterable<NodeInfo> = []) {
    for (const n of nodes) this.nodes.set(n.nodeId, n);
  }

  upsert(node: NodeInfo): void {
    this.nodes.set(node.nodeId, node);
    this.zoneIndex = new Map();
  }

  /**
   * Replaces the whole directory at once (a refresh from the source of
   * truth); `set` names the published set it came from (null: built here).
   */
  replaceAll(nodes: Iterable<NodeInfo>, set: NodeSetInfo | null = null): void {
    this.nodes.clear();
    for (const n of nodes) this.nodes.set(n.nodeId, n);
    this.zoneIndex = new Map();
    this.directorySet = set === null ? null : { ...set };
  }

  /**
   * Replaces all batch features at once, so readers never see a mix of two
   * versions. `computedAtMs` is when the set was computed (its age is what
   * the sidecar bounds); a caller that computed it just now may omit it.
   */
  loadBatch(version: string, batches: Map<string, NodeBatchFeatures>, computedAtMs = Date.now()): void {
    this.batches = new Map(batches);
    this.batchSet = { version, computedAtMs };
  }

  get batchVersion(): string {
    return this.batchSet?.version ?? 'none';
  }

  batchInfo(): NodeSetInfo | null {
    return this.batchSet === null ? null : { ...this.batchSet };
  }

  get directoryVersion(): string {
    return this.directorySet?.version ?? 'none';
  }

  directoryInfo(): NodeSetInfo | null {
    return this.directorySet === null ? null : { ...this.directorySet };
  }

  info(nodeId: string): NodeInfo | undefined {
    return this.nodes.get(nodeId);
  }

  batch(nodeId: string): NodeBatchFeatures {
    return this.batches.get(nodeId) ?? DEFAULT_BATCH_FEATURES;
  }

  serviceable(region: string, buyerZone: string): ReadonlyMap<string, ZoneRoute> {
    const key = `${region}|${buyerZone}`;
    let routes = this.zoneIndex.get(key);
    if (routes === undefined) {
      routes = new Map();
      for (const node of this.nodes.values()) {
        if (node.region !== region || !serves(node, buyerZone)) continue;
        routes.set(node.nodeId, {
          node,
          etaHours: etaHours(node, buyerZone),
          cost: shippingCost(node, buyerZone),
        });
      }
      if (this.zoneIndex.size >= MAX_INDEXED_ZONES) this.zoneIndex = new Map();
      this.zoneIndex.set(key, routes);
    }
    return routes;
  }

  all(): NodeInfo[] {
    return [...this.nodes.values()];
  }

  get size(): number {
    return this.nodes.size;
  }
}
