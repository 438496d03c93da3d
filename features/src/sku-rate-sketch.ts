/**
 * Request rate per SKU in bounded memory: a count-min sketch whose cells decay
 * exponentially with time. Hot-SKU detection reads it online, and the dataset
 * builder feeds it the same checkout sequence offline, so `sku_rate_per_min`
 * means the same number in both places.
 */

export const SKETCH_WIDTH = 4096;
export const SKETCH_DEPTH = 4;
/** Time constant of the decay: the estimate is roughly "requests in the last minute". */
export const SKETCH_TAU_MS = 60_000;

export class SkuRateSketch {
  private readonly counts: Float64Array;
  private readonly stamps: Float64Array;
  private readonly width: number;
  private readonly depth: number;

  constructor(width = SKETCH_WIDTH, depth = SKETCH_DEPTH) {
    this.width = width;
    this.depth = depth;
    this.counts = new Float64Array(width * depth);
    this.stamps = new Float64Array(width * depth);
  }

  /** Records one request for `sku` at `nowMs` (monotone per caller; earlier times add undecayed). */
  observe(sku: string, nowMs: number): void {
    for (let row = 0; row < this.depth; row++) {
      const i = row * this.width + (hash(sku, row) % this.width);
      this.counts[i] = decayed(this.counts[i]!, this.stamps[i]!, nowMs) + 1;
      if (nowMs > this.stamps[i]!) this.stamps[i] = nowMs;
    }
  }

  /** Estimated requests per minute for `sku` around `nowMs` (an over-estimate, never under). */
  ratePerMin(sku: string, nowMs: number): number {
    let best = Number.POSITIVE_INFINITY;
    for (let row = 0; row < this.depth; row++) {
      const i = row * this.width + (hash(sku, row) % this.width);
      const v = decayed(this.counts[i]!, this.stamps[i]!, nowMs);
      if (v < best) best = v;
    }
    return (best * 60_000) / SKETCH_TAU_MS;
  }
}

function decayed(v: number, stamp: number, nowMs: number): number {
  const dt = nowMs - stamp;
  return dt > 0 ? v * Math.exp(-dt / SKETCH_TAU_MS) : v;
}

/** FNV-1a over UTF-16 code units, seeded per row. */
function hash(s: string, row: number): number {
  let h = (0x811c9dc5 ^ Math.imul(row + 1, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
