/**
 * Per-node gradient histograms of the tree builder: for every (feature, bin)
 * the sums [g, h] of the rows that reached the node. Buffers are pooled and
 * reused across nodes and trees, so a boosting round allocates none once the
 * deepest tree has been grown.
 */
import type { FeatureBins } from './feature-bins.js';

export class HistogramPool {
  /** Histogram buffers, allocated on first use and reused across trees. */
  private readonly slots: Float64Array[] = [];
  private readonly freeSlots: number[] = [];
  private readonly stride: number;

  constructor(
    cols: number,
    private readonly maxBins: number,
  ) {
    this.stride = cols * maxBins * 2;
  }

  /** Called at the start of every tree: every buffer is free again (lowest slot handed out first). */
  reset(): void {
    this.freeSlots.length = 0;
    for (let s = this.slots.length - 1; s >= 0; s--) this.freeSlots.push(s);
  }

  take(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    this.slots.push(new Float64Array(this.stride));
    return this.slots.length - 1;
  }

  /** Returns a slot to the pool; always -1 (the caller's "no histogram"). */
  give(slot: number): number {
    if (slot >= 0) this.freeSlots.push(slot);
    return -1;
  }

  hist(slot: number): Float64Array {
    const h = this.slots[slot];
    if (h === undefined) throw new RangeError(`histogram slot ${slot} was never taken`);
    return h;
  }

  /** Fills `slot` with the sums over rows idx[start..end) of the binned matrix. */
  build(
    slot: number,
    binned: Uint8Array,
    cols: number,
    gh: Float64Array,
    idx: Int32Array,
    start: number,
    end: number,
  ): void {
    const hist = this.hist(slot);
    hist.fill(0);
    accumulateHistogram(hist, binned, cols, this.maxBins, gh, idx, start, end);
  }

  /**
   * The subtraction trick: parent - small child = the other child, computed
   * in place in the parent's slot over the features in use only.
   */
  subtract(parentSlot: number, smallSlot: number, features: Int32Array, bins: FeatureBins): void {
    const parent = this.hist(parentSlot);
    const small = this.hist(smallSlot);
    const maxBins = this.maxBins;
    for (let k = 0; k < features.length; k++) {
      const base = features[k]! * maxBins * 2;
      const len = bins.binCounts[features[k]!]! * 2;
      for (let i = base; i < base + len; i++) parent[i]! -= small[i]!;
    }
  }
}

/**
 * The trainer's inner loop: adds [g, h] of rows idx[start..end) to `hist`
 * (per feature `maxBins` [g, h] pairs). Row by row: the gradient pair is
 * loaded once and the row's bins are contiguous in the row-major matrix.
 * With feature subsampling the loop still runs over all features (cheaper
 * than an indirection per cell); unused features' cells are never read.
 * Exported so the training benchmark can time one pass as its baseline.
 */
export function accumulateHistogram(
  hist: Float64Array,
  binned: Uint8Array,
  cols: number,
  maxBins: number,
  gh: Float64Array,
  idx: Int32Array,
  start: number,
  end: number,
): void {
  const fStride = maxBins * 2;
  const width = cols * fStride;
  for (let i = start; i < end; i++) {
    const r = idx[i]!;
    const g = gh[2 * r]!;
    const h = gh[2 * r + 1]!;
    let o = r * cols;
    for (let h0 = 0; h0 < width; h0 += fStride) {
      const b = h0 + (binned[o++]! << 1);
      hist[b]! += g;
      hist[b + 1]! += h;
    }
  }
}
