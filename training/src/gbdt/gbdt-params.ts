/**
 * Hyper-parameters of the gradient-boosted tree trainer, with documented
 * defaults. `resolveGbdtParams(input)` merges a partial input over the
 * defaults and validates every field (an ATP_ERR_GBDT_PARAMS AtpError names
 * it); inside the trainer the resolved params are trusted.
 */
import { AtpError } from '@mercato/platform/errors';
import { ERR } from '../errors.js';

/** Largest number of bins per feature: bins are stored in a Uint8 matrix. */
export const MAX_BINS_LIMIT = 256;
/** Largest leaf limit: histogram memory grows with the leaves a tree keeps open. */
export const MAX_LEAVES_LIMIT = 4096;

/** A parameter's or input's problem, as the coded error (ATP_ERR_GBDT_PARAMS) naming the field. */
export function gbdtParamError(field: string, problem: string): AtpError {
  return new AtpError(ERR.GBDT_PARAMS, `${field}: ${problem}`, field);
}

export interface GbdtParams {
  /** Boosting rounds (trees) at most; early stopping may keep fewer. */
  nTrees: number;
  /** Depth limit of every tree (root = depth 0; a depth-6 tree has at most 64 leaves). */
  maxDepth: number;
  /** Leaf limit of every tree; leaves are split best-gain first until this or the depth limit. */
  maxLeaves: number;
  /** Shrinkage applied to every leaf value. */
  learningRate: number;
  /** A child needs at least this hessian sum (XGBoost's min_child_weight). */
  minChildWeight: number;
  /** L2 penalty on leaf values (lambda). */
  lambdaL2: number;
  /** A split must gain at least this much (gamma). */
  minSplitGain: number;
  /** Share of rows drawn (Bernoulli, seeded) for each tree; 1 = all rows. */
  rowSubsample: number;
  /** Share of features drawn (seeded) for each tree; 1 = all features. */
  colSubsample: number;
  /** Bins per feature (2..256), quantile-based on a sample of the training rows. */
  maxBins: number;
  /** At most this many training rows are read to place bin edges (an even stride over the rows). */
  binSampleRows: number;
  /** Stop when validation log loss has not improved for this many rounds (0 = never stop early). */
  earlyStoppingRounds: number;
  /** Seed of row and feature subsampling. */
  seed: number;
}

export const DEFAULT_GBDT_PARAMS: GbdtParams = {
  nTrees: 100,
  maxDepth: 6,
  maxLeaves: 64,
  learningRate: 0.1,
  minChildWeight: 1,
  lambdaL2: 1,
  minSplitGain: 0,
  rowSubsample: 1,
  colSubsample: 1,
  maxBins: 255,
  binSampleRows: 200_000,
  earlyStoppingRounds: 20,
  seed: 1,
};

/** Merges `input` over DEFAULT_GBDT_PARAMS and validates every field. */
export function resolveGbdtParams(input: Partial<GbdtParams> = {}): GbdtParams {
  const p: GbdtParams = { ...DEFAULT_GBDT_PARAMS };
  for (const [k, v] of Object.entries(input)) {
    if (v !== undefined) (p as unknown as Record<string, unknown>)[k] = v;
  }
  int('nTrees', p.nTrees, 1, 100_000);
  int('maxDepth', p.maxDepth, 1, 30);
  int('maxLeaves', p.maxLeaves, 2, MAX_LEAVES_LIMIT);
  num('learningRate', p.learningRate, 1e-6, 1);
  num('minChildWeight', p.minChildWeight, 0, 1e12);
  num('lambdaL2', p.lambdaL2, 0, 1e12);
  num('minSplitGain', p.minSplitGain, 0, 1e12);
  num('rowSubsample', p.rowSubsample, 1e-6, 1);
  num('colSubsample', p.colSubsample, 1e-6, 1);
  int('maxBins', p.maxBins, 2, MAX_BINS_LIMIT);
  int('binSampleRows', p.binSampleRows, 1, Number.MAX_SAFE_INTEGER);
  int('earlyStoppingRounds', p.earlyStoppingRounds, 0, 100_000);
  int('seed', p.seed, 0, 0xffff_ffff);
  return p;
}

function num(field: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw gbdtParamError(field, 'expected a finite number');
  if (v < min || v > max) throw gbdtParamError(field, `must be between ${min} and ${max}, got ${v}`);
}

function int(field: string, v: unknown, min: number, max: number): void {
  num(field, v, min, max);
  if (!Number.isInteger(v)) throw gbdtParamError(field, `expected an integer, got ${v}`);
}
