/**
 * Lookups over the static world that the processes need on every step, as
 * typed arrays indexed by pair (position in world.pairs), node (position in
 * world.nodes) or SKU (position in world.skus). Built once per run.
 */
import type { NodeInfo } from '@mercato/features/node-profile';
import { cumulative, type World } from './build-world.js';
import type { Prng } from './prng.js';

const MS_PER_H = 3_600_000;

export class WorldIndex {
  readonly nodes: NodeInfo[];
  /** SKU and node of each pair. */
  readonly pairSku: Int32Array;
  readonly pairNode: Int32Array;
  /** `sku|node` -> pair. */
  readonly pairIndex = new Map<string, number>();
  /** Pairs of each SKU and of each node, in pair order. */
  readonly skuPairs: Int32Array[];
  readonly nodePairs: Int32Array[];
  /** Per node: cumulative popularity of its pairs (which shelf a walk-in buyer or a loss hits). */
  readonly nodePairCum: Float64Array[];
  /** Per node: promise-to-pick time (ms). */
  readonly handlingMs: Float64Array;

  constructor(w: World) {
    const P = w.pairs.length;
    this.nodes = w.nodes;
    this.pairSku = new Int32Array(P);
    this.pairNode = new Int32Array(P);
    const skuPairs: number[][] = w.skus.map(() => []);
    const nodePairs: number[][] = w.nodes.map(() => []);
    w.pairs.forEach((p, i) => {
      this.pairSku[i] = p.skuIndex;
      this.pairNode[i] = p.nodeIndex;
      this.pairIndex.set(`${p.sku}|${p.node}`, i);
      skuPairs[p.skuIndex]!.push(i);
      nodePairs[p.nodeIndex]!.push(i);
    });
    this.skuPairs = skuPairs.map((a) => Int32Array.from(a));
    this.nodePairs = nodePairs.map((a) => Int32Array.from(a));
    this.nodePairCum = nodePairs.map((a) =>
      cumulative(a.map((p) => w.skus[w.pairs[p]!.skuIndex]!.popularity)),
    );
    this.handlingMs = Float64Array.from(w.nodes, (n) => Math.round(n.handlingHours * MS_PER_H));
  }

  /** A pair of node j drawn by SKU popularity. */
  pickPairAt(j: number, rng: Prng): number {
    const pairs = this.nodePairs[j]!;
    return pairs[rng.pickCumulative(this.nodePairCum[j]!)]!;
  }
}
