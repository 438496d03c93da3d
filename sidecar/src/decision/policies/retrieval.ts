/**
 * Candidate retrieval: the nodes of a SKU's inventory index that serve the
 * buyer's coarse zone in the request's region, ordered by a cheap prior (ETA,
 * then last-known margin) and cut to the top K.
 */
import type { NodeInfo } from '@mercato/features/node-profile';
import { R, RECORD_WIDTH } from '@mercato/features/record-layout';
import type { NodeDirectory, SkuView } from '@mercato/features/store-ports';

/** Candidates ranked per item; the ranking model runs over all of them in one batch. */
export const MAX_CANDIDATES = 32;

export interface Candidate {
  /** Index into the SkuView arrays. */
  index: number;
  node: NodeInfo;
  etaHours: number;
  cost: number;
}

export function retrieveCandidates(
  view: SkuView,
  directory: NodeDirectory,
  region: string,
  buyerZone: string,
  maxK = MAX_CANDIDATES,
): Candidate[] {
  const routes = directory.serviceable(region, buyerZone);
  const out: Candidate[] = [];
  let i = 0;
  for (const nodeId of view.nodeIds) {
    const route = routes.get(nodeId);
    if (route !== undefined)
      out.push({ index: i, node: route.node, etaHours: route.etaHours, cost: route.cost });
    i++;
  }
  if (out.length > 1) {
    const margin = (c: Candidate): number =>
      (view.recs[c.index * RECORD_WIDTH + R.onHand] ?? 0) -
      (view.recs[c.index * RECORD_WIDTH + R.reserved] ?? 0);
    out.sort(
      (a, b) => a.etaHours - b.etaHours || margin(b) - margin(a) || (a.node.nodeId < b.node.nodeId ? -1 : 1),
    );
  }
  return out.length > maxK ? out.slice(0, maxK) : out;
}
