/**
 * Second-order split scoring (XGBoost's formulation): a leaf holding gradient
 * sum G and hessian sum H has optimal value -G / (H + lambda) and lowers the
 * loss by G^2 / (2 (H + lambda)); a split is worth what its children lower
 * beyond the parent, minus the per-split penalty gamma.
 */

/** Loss reduction of a leaf with sums (g, h): g^2 / (h + lambda). Halved in splitGain. */
export function leafScore(g: number, h: number, lambda: number): number {
  return (g * g) / (h + lambda);
}

/** Newton step of a leaf: -G / (H + lambda) (before shrinkage). */
export function leafValue(g: number, h: number, lambda: number): number {
  return -g / (h + lambda);
}

/** 0.5 * [GL^2/(HL+l) + GR^2/(HR+l) - (GL+GR)^2/(HL+HR+l)] - gamma. */
export function splitGain(
  gl: number,
  hl: number,
  gr: number,
  hr: number,
  lambda: number,
  gamma: number,
): number {
  return (
    0.5 * (leafScore(gl, hl, lambda) + leafScore(gr, hr, lambda) - leafScore(gl + gr, hl + hr, lambda)) -
    gamma
  );
}

export interface SplitCandidate {
  gain: number;
  feature: number;
  /** Rows whose bin is <= this go left. */
  bin: number;
  gl: number;
  hl: number;
}

/**
 * Best split of one node over `features`, reading its histogram (per feature
 * `maxBins` bins of [g, h] at hist[off + (f * maxBins + b) * 2]). Ties keep
 * the first found (lowest feature, then lowest bin), so the result never
 * depends on anything but the data. Writes into `out`; gain = -Infinity when
 * no split satisfies minChildWeight or beats gamma. `tieTolerance` (relative,
 * 0 = exact) makes near-equal gains ties: federated and pooled runs, whose
 * histogram sums differ only in addition order, then pick the same split.
 */
export function findBestSplit(
  hist: Float64Array,
  off: number,
  features: Int32Array,
  binCounts: Int32Array,
  maxBins: number,
  g: number,
  h: number,
  lambda: number,
  gamma: number,
  minChildWeight: number,
  out: SplitCandidate,
  tieTolerance = 0,
): void {
  out.gain = Number.NEGATIVE_INFINITY;
  out.feature = -1;
  out.bin = -1;
  const parent = leafScore(g, h, lambda);
  for (let k = 0; k < features.length; k++) {
    const f = features[k]!;
    const nb = binCounts[f]!;
    let gl = 0;
    let hl = 0;
    let i = off + f * maxBins * 2;
    for (let b = 0; b < nb - 1; b++, i += 2) {
      gl += hist[i]!;
      hl += hist[i + 1]!;
      if (hl < minChildWeight) continue;
      const hr = h - hl;
      if (hr < minChildWeight) break;
      const gr = g - gl;
      const gain = 0.5 * ((gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parent) - gamma;
      // With a tie tolerance, a gain within that relative margin of the best so far is a tie (the first
      // found is kept), so float-summation noise cannot pick between two features splitting rows alike.
      if (
        gain > out.gain &&
        (tieTolerance === 0 ||
          out.gain === Number.NEGATIVE_INFINITY ||
          gain > out.gain + tieTolerance * Math.abs(out.gain))
      ) {
        out.gain = gain;
        out.feature = f;
        out.bin = b;
        out.gl = gl;
        out.hl = hl;
      }
    }
  }
  if (out.gain <= 0) out.gain = Number.NEGATIVE_INFINITY;
}
