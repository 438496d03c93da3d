/**
 * The lines `npm run train -- --federated-regions ...` prints: does the
 * federated model match the pooled one, how long each took, and how many
 * bytes crossed borders against what moving the rows would have cost.
 */
import type { DecisionRows } from '../dataset/decision-rows.js';
import { auc } from '../evaluate/metrics.js';
import { predictProba } from '../gbdt/gbdt-model.js';
import { type FederatedRun, maxPredictionDiff } from './federated-comparison.js';

export interface FederatedNumbers {
  sameTrees: boolean;
  firstDifference: string | null;
  trees: number;
  maxPredictionDiff: number;
  aucFederated: number;
  aucPooled: number;
  federatedSeconds: number;
  pooledSeconds: number;
  crossBytes: number;
  rawCrossBytes: number;
  rawBytes: number;
}

/** The comparison measured on the held-out rows. */
export function federatedNumbers(run: FederatedRun, heldOut: DecisionRows): FederatedNumbers {
  return {
    sameTrees: run.match.sameTrees,
    firstDifference: run.match.firstDifference,
    trees: run.federated.trees.length,
    maxPredictionDiff: maxPredictionDiff(run.federated, run.pooled, heldOut.x, heldOut.rows),
    aucFederated: auc(predictProba(run.federated, heldOut.x, heldOut.rows), heldOut.y, heldOut.rows),
    aucPooled: auc(predictProba(run.pooled, heldOut.x, heldOut.rows), heldOut.y, heldOut.rows),
    federatedSeconds: run.federatedSeconds,
    pooledSeconds: run.pooledSeconds,
    crossBytes: run.traffic.crossBytes,
    rawCrossBytes: run.rawCrossBytes,
    rawBytes: run.rawBytes,
  };
}

export function federatedSummary(run: FederatedRun, heldOut: DecisionRows): string {
  const n = federatedNumbers(run, heldOut);
  const mb = (b: number): string => `${(b / 1e6).toFixed(2)} MB`;
  const rows = run.regions.map((r) => `${r} ${run.regionRows[r]}`).join(', ');
  const kinds = Object.entries(run.traffic.byKind)
    .map(([k, b]) => `${k} ${mb(b)}`)
    .join(', ');
  return [
    `federated training over ${run.regions.join(', ')} (training rows: ${rows}; coordinator in ${run.regions[0]})`,
    `  same trees as pooled training: ${n.sameTrees ? 'yes' : `NO (${n.firstDifference})`} (${n.trees} trees)`,
    `  held-out: max |p_federated - p_pooled| ${n.maxPredictionDiff.toExponential(2)}; ` +
      `AUC federated ${n.aucFederated.toFixed(5)} vs pooled ${n.aucPooled.toFixed(5)} ` +
      `(diff ${Math.abs(n.aucFederated - n.aucPooled).toExponential(2)})`,
    `  training time: federated ${n.federatedSeconds.toFixed(2)} s, pooled ${n.pooledSeconds.toFixed(2)} s`,
    `  crossed borders: ${mb(n.crossBytes)} of aggregates (${kinds}) in ${run.traffic.crossMessages} messages; ` +
      `raw rows outside ${run.regions[0]}: ${mb(n.rawCrossBytes)} (all raw rows ${mb(n.rawBytes)})`,
  ].join('\n');
}
