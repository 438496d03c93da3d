/**
 * units_p10: a conservative estimate of sellable units at a node. The
 * ranker is asked, in the same batch as the request's own rows, for
 * p_fulfill at a small geometric ladder of quantities up to the known ATP;
 * units_p10 is the largest rung k such that every rung up to k has
 * calibrated p_fulfill(k) >= UNITS_P10_LEVEL. Since p_fulfill(k) is
 * P(the node can ship k units), that rung is (a lower bound of) the 10th
 * percentile of sellable units. Rungs stop at the first failure, so a
 * non-monotone model cannot inflate the estimate.
 */

export const UNITS_P10_LEVEL = 0.9;
/** Rungs per candidate, from 1 to the candidate's ATP. */
export const LADDER_RUNGS = 5;
/** Only the best candidates by prior get a ladder: it bounds the batch (items x candidates x rungs). */
export const LADDER_CANDIDATES = 4;

/** Distinct integer rungs from 1 to `atp`, geometric; empty when nothing is in stock. */
export function ladderRungs(atp: number, rungs = LADDER_RUNGS): number[] {
  const top = Math.floor(atp);
  if (top < 1) return [];
  if (top === 1 || rungs === 1) return [top];
  const out: number[] = [];
  for (let i = 0; i < rungs; i++) {
    const k = Math.max(1, Math.round(top ** (i / (rungs - 1))));
    // Length first: reading out[-1] of an empty array is a slow named-property lookup in V8.
    if (out.length === 0 || k > (out[out.length - 1] ?? 0)) out.push(k);
  }
  return out;
}

/** Largest rung whose p and every smaller rung's p reach `level`; 0 when the first fails. */
export function unitsFromLadder(
  rungs: readonly number[],
  p: (i: number) => number,
  level = UNITS_P10_LEVEL,
): number {
  let units = 0;
  let i = 0;
  for (const rung of rungs) {
    if (p(i) < level) break;
    units = rung;
    i++;
  }
  return units;
}
