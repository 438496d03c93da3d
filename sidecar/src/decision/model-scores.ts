/**
 * What one ranker run said about a request (the score stage's result): for
 * each ranked candidate, by its slot (plan order), its calibrated
 * p_fulfill, the threshold it was judged against, its units_p10 and its
 * verdict. One object, one typed array and one verdict array per request,
 * sized up front, so scoring adds no allocation per candidate (STYLE rule 9).
 */
import type { ModelVerdict } from './policies/threshold-verdict.js';

/** Numbers kept per slot in `values`: p, threshold, units (in that order). */
export const SCORE_STRIDE = 3;

export class ModelScores {
  /** SCORE_STRIDE numbers per slot: p, threshold, units (p and threshold NaN until set). */
  private readonly values: Float64Array;
  /** One verdict per slot. */
  private readonly verdicts: ModelVerdict[];

  constructor(readonly slots: number) {
    this.values = new Float64Array(slots * SCORE_STRIDE);
    for (let s = 0; s < slots; s++) {
      this.values[s * SCORE_STRIDE] = Number.NaN;
      this.values[s * SCORE_STRIDE + 1] = Number.NaN;
    }
    this.verdicts = new Array<ModelVerdict>(slots).fill('BELOW_THRESHOLD');
  }

  /** Records a slot's calibrated p, threshold and verdict. */
  set(slot: number, p: number, threshold: number, verdict: ModelVerdict): void {
    this.values[slot * SCORE_STRIDE] = p;
    this.values[slot * SCORE_STRIDE + 1] = threshold;
    this.verdicts[slot] = verdict;
  }

  /** Records a slot's units_p10 (from its ladder run, or the units cache). */
  setUnits(slot: number, units: number): void {
    this.values[slot * SCORE_STRIDE + 2] = units;
  }

  /** Calibrated p_fulfill. */
  p(slot: number): number {
    return slot < this.slots ? (this.values[slot * SCORE_STRIDE] ?? Number.NaN) : Number.NaN;
  }

  /** The threshold with the candidate's staleness margins. */
  threshold(slot: number): number {
    return slot < this.slots ? (this.values[slot * SCORE_STRIDE + 1] ?? Number.NaN) : Number.NaN;
  }

  /** units_p10 from the candidate's ladder, 0 without one. */
  units(slot: number): number {
    return slot < this.slots ? (this.values[slot * SCORE_STRIDE + 2] ?? 0) : 0;
  }

  verdict(slot: number): ModelVerdict {
    return this.verdicts[slot] ?? 'BELOW_THRESHOLD';
  }
}
