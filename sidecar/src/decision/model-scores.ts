/**
 * What one ranker run said about a request (the score stage's result): for
 * each ranked candidate, by its slot (plan order), its calibrated
 * p_fulfill, the threshold it was judged against, its units_p10 and its
 * verdict. One object and two packed arrays per request, so scoring adds no
 * allocation per candidate (STYLE rule 9).
 */
import type { ModelVerdict } from './policies/threshold-verdict.js';

/** Numbers kept per slot in `values`: p, threshold, units (in that order). */
export const SCORE_STRIDE = 3;

export class ModelScores {
  constructor(
    /** SCORE_STRIDE numbers per slot: p, threshold, units. */
    private readonly values: readonly number[],
    /** One verdict per slot. */
    private readonly verdicts: readonly ModelVerdict[],
  ) {}

  /** Calibrated p_fulfill. */
  p(slot: number): number {
    return this.values[slot * SCORE_STRIDE] ?? Number.NaN;
  }

  /** The threshold with the candidate's staleness margins. */
  threshold(slot: number): number {
    return this.values[slot * SCORE_STRIDE + 1] ?? Number.NaN;
  }

  /** units_p10 from the candidate's ladder, 0 without one. */
  units(slot: number): number {
    return this.values[slot * SCORE_STRIDE + 2] ?? 0;
  }

  verdict(slot: number): ModelVerdict {
    return this.verdicts[slot] ?? 'BELOW_THRESHOLD';
  }
}
