/**
 * Naive ATP as an in-process Router: promise the nearest node (by ETA, ties
 * by node id) that serves the buyer's zone and shows on_hand - reserved >=
 * qty in a feature view, the events delivered so far. The same rule as the
 * simulator's internal routing, minus blackout hours and daily caps (the
 * world's hard rules belong to the data plane). It runs the driver without
 * any process: tests, and a dry run of a world.
 */
import { etaHours, type NodeInfo, serves } from '@mercato/features/node-profile';
import { R } from '@mercato/features/record-layout';
import type { Router, RouterAnswer, WorldCheckout } from './world-ports.js';

/** Decision ids this router issues: `naive-<n>`, deterministic for a run. */
export const NAIVE_ROUTER_DECISION_PREFIX = 'naive-';

/** What the router reads: the packed record of a (sku, node) pair (FeatureState.get). */
export interface PairView {
  get(sku: string, node: string): Float64Array | undefined;
}

export class NaiveRouter implements Router {
  private seq = 0;
  private readonly servingCache = new Map<string, readonly NodeInfo[]>();

  constructor(
    private readonly view: PairView,
    private readonly nodes: readonly NodeInfo[],
  ) {}

  async route(c: WorldCheckout): Promise<RouterAnswer> {
    const decisionId = `${NAIVE_ROUTER_DECISION_PREFIX}${++this.seq}`;
    for (const node of this.serving(c.buyerZone)) {
      // No record: the node never reported this SKU, so it is no candidate.
      const rec = this.view.get(c.sku, node.nodeId);
      if (rec !== undefined && rec[R.onHand]! - rec[R.reserved]! >= c.qty) {
        return { decision: 'allow', decisionId, node: node.nodeId, latencyMs: 0 };
      }
    }
    return { decision: 'deny', decisionId, latencyMs: 0 };
  }

  /** Nodes serving a zone, nearest first: the world is static, so once per zone. */
  private serving(zone: string): readonly NodeInfo[] {
    let list = this.servingCache.get(zone);
    if (list === undefined) {
      list = this.nodes
        .filter((n) => serves(n, zone))
        .sort((a, b) => etaHours(a, zone) - etaHours(b, zone) || (a.nodeId < b.nodeId ? -1 : 1));
      this.servingCache.set(zone, list);
    }
    return list;
  }
}
