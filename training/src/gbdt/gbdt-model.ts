/**
 * A trained ensemble: binary trees over float32 features, each a set of
 * parallel typed arrays (node 0 is the root). Internal nodes send a row left
 * when x[feature] <= threshold (float32); leaves carry a float32 value. The
 * raw score is baseScore + the sum of one leaf per tree; p = sigmoid(raw).
 * Values are float32 on purpose: the ONNX graph stores them as float32, so
 * the model predicts here what onnxruntime predicts.
 */
import type { FeatureBins } from './feature-bins.js';
import type { GbdtParams } from './gbdt-params.js';

export interface GbdtTree {
  nodeCount: number;
  /** Split feature; -1 marks a leaf. */
  feature: Int32Array;
  /** Split bin: binned rows go left when bin <= thresholdBin. */
  thresholdBin: Int32Array;
  /** Split value: rows go left when x <= threshold (the bin's float32 upper edge). */
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  /** Leaf value (learning rate applied); 0 on internal nodes. */
  value: Float32Array;
  /** Loss reduction of the split (internal nodes), for feature importance. */
  gain: Float64Array;
  /** Hessian sum of the training rows that reached the node. */
  cover: Float64Array;
}

export interface GbdtModel {
  featureCount: number;
  /** Raw score (logit) every row starts from: the training base rate, as float32. */
  baseScore: number;
  trees: GbdtTree[];
  bins: FeatureBins;
  params: GbdtParams;
  /** Mean training / validation log loss after each kept round (validation empty when none was given). */
  history: { train: number[]; valid: number[] };
  /** Rounds trained before stopping (trees.length may be fewer: early stopping keeps the best round). */
  roundsTrained: number;
}

/** Index of the leaf a float32 row reaches. */
export function leafIndex(tree: GbdtTree, x: Float32Array, rowOff: number): number {
  const feature = tree.feature;
  let node = 0;
  let f = feature[0]!;
  while (f >= 0) {
    node = x[rowOff + f]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
    f = feature[node]!;
  }
  return node;
}

/** Raw scores (logits) of `rows` row-major float32 rows. */
export function predictRaw(
  model: GbdtModel,
  x: Float32Array,
  rows: number,
  out = new Float64Array(rows),
): Float64Array {
  const cols = model.featureCount;
  out.fill(model.baseScore, 0, rows);
  for (const tree of model.trees) {
    const value = tree.value;
    for (let r = 0; r < rows; r++) out[r]! += value[leafIndex(tree, x, r * cols)]!;
  }
  return out;
}

/** Probabilities sigmoid(raw) of `rows` row-major float32 rows. */
export function predictProba(model: GbdtModel, x: Float32Array, rows: number): Float64Array {
  const out = predictRaw(model, x, rows);
  for (let r = 0; r < rows; r++) out[r] = 1 / (1 + Math.exp(-out[r]!));
  return out;
}

/** Total split gain per feature (importance), in feature order. */
export function featureImportance(model: GbdtModel): Float64Array {
  const imp = new Float64Array(model.featureCount);
  for (const t of model.trees) {
    for (let i = 0; i < t.nodeCount; i++) if (t.feature[i]! >= 0) imp[t.feature[i]!]! += t.gain[i]!;
  }
  return imp;
}
