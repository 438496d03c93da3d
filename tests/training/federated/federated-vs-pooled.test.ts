/**
 * Federated training over three regions matches pooled training: the rows
 * of one simulated world (the simulator models a single region) are
 * assigned to eu-west / eu-central / us-east by checkout, each region keeps
 * its rows, and the global model grown from merged histograms has the same
 * trees and (within float tolerance) the same predictions on a held-out
 * world as the model trained on the pooled rows with the same edges.
 */
import t from 'tap';
import { FEATURE_COUNT } from '../../../features/src/feature-vector.js';
import { simulatedDataset } from '../../../training/src/dataset/simulated-dataset.js';
import { splitByTime } from '../../../training/src/dataset/split-dataset.js';
import { auc } from '../../../training/src/evaluate/metrics.js';
import {
  maxPredictionDiff,
  runFederatedTraining,
} from '../../../training/src/federated/federated-comparison.js';
import { predictProba } from '../../../training/src/gbdt/gbdt-model.js';
import { resolveGbdtParams } from '../../../training/src/gbdt/gbdt-params.js';
import { trainGbdt } from '../../../training/src/gbdt/train-gbdt.js';
import { exportGbdtToOnnx } from '../../../training/src/onnx/export-gbdt-onnx.js';
import { DEFAULT_GBDT_TRAINING } from '../../../training/src/pipeline/train-config.js';

const REGIONS = ['eu-west', 'eu-central', 'us-east'];
/** Float tolerance on probabilities: only the order of float64 additions in a histogram cell differs. */
const PRED_TOLERANCE = 1e-6;

const world = simulatedDataset({ seed: 11, events: 300_000 }).dataset;
const heldOut = simulatedDataset({ seed: 12, events: 250_000 }).dataset;
const { train, valid } = splitByTime(world);

t.test(
  'three regions train the same trees as the pooled rows, with default training params (row and column sampling)',
  async (t) => {
    const params = resolveGbdtParams({ ...DEFAULT_GBDT_TRAINING, nTrees: 40, seed: 3 });
    const run = runFederatedTraining(train, valid, FEATURE_COUNT, REGIONS, params);
    for (const r of REGIONS) t.ok(run.regionRows[r]! > 1000, `${r} holds ${run.regionRows[r]} rows`);
    t.ok(run.federated.trees.length > 5, `kept ${run.federated.trees.length} trees`);
    t.equal(run.match.firstDifference, null, 'no split feature, bin or threshold differs');
    t.ok(run.match.sameTrees);
    t.ok(run.match.maxLeafValueDiff < 1e-6, `max leaf value diff ${run.match.maxLeafValueDiff}`);
    const diff = maxPredictionDiff(run.federated, run.pooled, heldOut.x, heldOut.rows);
    t.ok(diff < PRED_TOLERANCE, `max held-out prediction diff ${diff}`);
    t.ok(run.traffic.crossBytes > 0, 'aggregates crossed borders');
    t.comment(
      `crossed ${run.traffic.crossBytes} B of aggregates; raw rows outside eu-west ${run.rawCrossBytes} B`,
    );
    t.comment(`federated ${run.federatedSeconds.toFixed(2)} s, pooled ${run.pooledSeconds.toFixed(2)} s`);
    for (const k of Object.keys(run.traffic.byKind)) {
      t.ok(['counts', 'histogram', 'model', 'sketch', 'bin-edges'].includes(k), `${k} is an aggregate kind`);
    }

    // The ONNX graph of the federated model has the pooled graph's structure (same trees => same bytes
    // except leaf values within float tolerance; with equal leaf values the bytes are identical).
    const a = exportGbdtToOnnx(run.federated, FEATURE_COUNT);
    const b = exportGbdtToOnnx(run.pooled, FEATURE_COUNT);
    t.equal(a.length, b.length, 'ONNX exports have the same size');
    t.ok(Buffer.from(a).equals(Buffer.from(b)), 'ONNX exports are byte-identical');
    t.comment(`held-out max prediction diff ${diff}`);

    // The pooled model with its own quantile edges (the unchanged pooled path): AUC on the held-out world.
    const native = trainGbdt(train.x, train.y, train.rows, FEATURE_COUNT, params, { valid });
    const aucFed = auc(predictProba(run.federated, heldOut.x, heldOut.rows), heldOut.y, heldOut.rows);
    const aucNative = auc(predictProba(native, heldOut.x, heldOut.rows), heldOut.y, heldOut.rows);
    t.ok(Math.abs(aucFed - aucNative) <= 0.002, `held-out AUC federated ${aucFed} vs pooled ${aucNative}`);
    t.comment(`AUC federated ${aucFed} pooled-native ${aucNative}`);
  },
);
