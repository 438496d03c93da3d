/**
 * Online calibration of the model's promises (issue 14 item 1, "calibration
 * drift from the outcome join"): for each promised item whose outcome landed,
 * its calibrated p_fulfill and whether it was fulfilled. Accumulated in fine
 * fixed bins (cheap to store and merge: count, sum of p, fulfilled per bin),
 * read out as a reliability curve over equal-mass coarse bins, the expected
 * calibration error (ECE) and a Hosmer-Lemeshow test.
 *
 * Why equal-mass bins: promises sit above the checkout threshold (p ~0.9 and
 * up), so ten equal-width bins over [0, 1] would hold everything in one.
 * Why a test beside the ECE: the ECE of a perfectly calibrated model is
 * still positive on a finite sample (each bin's frequency is noisy), so a
 * bound on the ECE alone fires on small windows. The alarm needs both: the
 * Hosmer-Lemeshow statistic beyond its chi-square quantile at `alpha`, and an
 * ECE above the materiality bound (the bundle's ECE goal, 0.02).
 */
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import { wilsonInterval } from '../stats/wilson-interval.js';

/** Fine bins over [0, 1]: 0.001 wide. */
export const FINE_BINS = 1000;
/** Coarse (equal-mass) bins of the reliability curve. */
export const RELIABILITY_BINS = 10;
/** ECE above this is material (the model's held-out goal). */
export const ECE_MATERIALITY = 0.02;
/** False-alarm probability of the Hosmer-Lemeshow test per evaluation. */
export const CALIBRATION_ALPHA = 0.001;
/**
 * A coarse bin closes only once it expects this many failures and successes:
 * the chi-square approximation of Hosmer-Lemeshow needs it, and promises
 * near p = 1 expect few failures (a window of 300 would otherwise alarm
 * several times more often than alpha).
 */
export const MIN_EXPECTED_PER_BIN = 5;

export interface ReliabilityBin {
  /** Range of p covered (fine-bin edges). */
  pLow: number;
  pHigh: number;
  n: number;
  meanP: number;
  /** Observed share fulfilled, with its 95% Wilson interval. */
  observed: number;
  lower: number;
  upper: number;
}

export interface CalibrationReport {
  n: number;
  ece: number;
  /** Hosmer-Lemeshow statistic, its degrees of freedom and p-value; null when fewer than 3 bins hold data. */
  hosmerLemeshow: { statistic: number; df: number; pValue: number } | null;
  /** Expected oversell rate of these promises (mean 1 - p) beside the realized one (share not fulfilled). */
  expectedFailureRate: number;
  realizedFailureRate: number;
  bins: ReliabilityBin[];
  alarm: boolean;
}

/** Counts of one model version's promises with outcomes; merge()-able across partitions and stores. */
export class CalibrationAccumulator {
  readonly count = new Float64Array(FINE_BINS);
  readonly sumP = new Float64Array(FINE_BINS);
  readonly fulfilled = new Float64Array(FINE_BINS);

  add(p: number, wasFulfilled: boolean): void {
    if (!Number.isFinite(p)) return;
    const q = Math.min(1, Math.max(0, p));
    const b = Math.min(FINE_BINS - 1, Math.floor(q * FINE_BINS));
    this.count[b]! += 1;
    this.sumP[b]! += q;
    if (wasFulfilled) this.fulfilled[b]! += 1;
  }

  merge(other: CalibrationAccumulator): void {
    for (let b = 0; b < FINE_BINS; b++) {
      this.count[b]! += other.count[b]!;
      this.sumP[b]! += other.sumP[b]!;
      this.fulfilled[b]! += other.fulfilled[b]!;
    }
  }

  get n(): number {
    let n = 0;
    for (const c of this.count) n += c;
    return n;
  }

  report(opts: { bins?: number; alpha?: number; materiality?: number } = {}): CalibrationReport {
    const target = opts.bins ?? RELIABILITY_BINS;
    const alpha = opts.alpha ?? CALIBRATION_ALPHA;
    const materiality = opts.materiality ?? ECE_MATERIALITY;
    const n = this.n;
    const bins: ReliabilityBin[] = [];
    const perBin = n / target;
    let acc = { n: 0, sumP: 0, ok: 0, from: -1 };
    const close = (to: number) => {
      if (acc.n === 0) return;
      const w = wilsonInterval(acc.ok, acc.n);
      bins.push({
        pLow: acc.from / FINE_BINS,
        pHigh: (to + 1) / FINE_BINS,
        n: acc.n,
        meanP: acc.sumP / acc.n,
        observed: acc.ok / acc.n,
        lower: w.lower,
        upper: w.upper,
      });
      acc = { n: 0, sumP: 0, ok: 0, from: -1 };
    };
    for (let b = 0; b < FINE_BINS; b++) {
      if (this.count[b] === 0) continue;
      if (acc.from < 0) acc.from = b;
      acc.n += this.count[b]!;
      acc.sumP += this.sumP[b]!;
      acc.ok += this.fulfilled[b]!;
      const expectedFailures = acc.n - acc.sumP;
      const enough = expectedFailures >= MIN_EXPECTED_PER_BIN && acc.sumP >= MIN_EXPECTED_PER_BIN;
      if (acc.n >= perBin && enough && bins.length < target - 1) close(b);
    }
    close(FINE_BINS - 1);
    // The remainder may expect too few failures to stand alone: fold it into the bin before.
    const tail = bins[bins.length - 1];
    if (bins.length >= 2 && tail !== undefined && tail.n * (1 - tail.meanP) < MIN_EXPECTED_PER_BIN) {
      bins.pop();
      const prev = bins.pop()!;
      const nn = prev.n + tail.n;
      const ok = prev.observed * prev.n + tail.observed * tail.n;
      const w = wilsonInterval(Math.round(ok), nn);
      bins.push({
        pLow: prev.pLow,
        pHigh: tail.pHigh,
        n: nn,
        meanP: (prev.meanP * prev.n + tail.meanP * tail.n) / nn,
        observed: ok / nn,
        lower: w.lower,
        upper: w.upper,
      });
    }
    let ece = 0;
    let hl = 0;
    let expectedFail = 0;
    let realizedFail = 0;
    for (const bin of bins) {
      ece += (bin.n / n) * Math.abs(bin.meanP - bin.observed);
      const expected = bin.meanP * bin.n;
      const variance = bin.n * bin.meanP * (1 - bin.meanP);
      if (variance > 0) hl += (bin.observed * bin.n - expected) ** 2 / variance;
      expectedFail += bin.n * (1 - bin.meanP);
      realizedFail += bin.n * (1 - bin.observed);
    }
    const df = bins.length - 2;
    const hosmerLemeshow = df >= 1 ? { statistic: hl, df, pValue: 1 - chisquareCdf(hl, df) } : null;
    return {
      n,
      ece: n === 0 ? 0 : ece,
      hosmerLemeshow,
      expectedFailureRate: n === 0 ? 0 : expectedFail / n,
      realizedFailureRate: n === 0 ? 0 : realizedFail / n,
      bins,
      alarm: hosmerLemeshow !== null && hosmerLemeshow.pValue < alpha && ece > materiality,
    };
  }
}
