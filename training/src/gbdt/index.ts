/**
 * Public surface of the gradient-boosted tree trainer (another team's tests
 * and the training CLI import from here; keep these names stable).
 */
export { binMatrix, binOf, computeFeatureBins, type FeatureBins } from './feature-bins.js';
export {
  featureImportance,
  type GbdtModel,
  type GbdtTree,
  leafIndex,
  predictProba,
  predictRaw,
} from './gbdt-model.js';
export {
  DEFAULT_GBDT_PARAMS,
  type GbdtParams,
  gbdtParamError,
  MAX_BINS_LIMIT,
  MAX_LEAVES_LIMIT,
  resolveGbdtParams,
} from './gbdt-params.js';
export { accumulateHistogram, HistogramPool } from './histogram-pool.js';
export { logit, logLossGradients, meanLogLoss, meanLogLossRaw, sigmoid } from './log-loss.js';
export { findBestSplit, leafScore, leafValue, type SplitCandidate, splitGain } from './split-gain.js';
export { type SyntheticData, syntheticBinaryData } from './synthetic-data.js';
export {
  addTreeBinned,
  type RoundInfo,
  type TrainGbdtOptions,
  type TrainMatrix,
  trainGbdt,
  trainGbdtBinned,
} from './train-gbdt.js';
