/**
 * Writes a GbdtModel as an ONNX graph that onnxruntime-node runs:
 *
 *   features float32 [N, F] --TreeEnsembleRegressor (ai.onnx.ml v3)--> raw [N, 1]
 *                           --Sigmoid--> p_raw float32 [N, 1]
 *
 * Split semantics match the TypeScript model exactly: every internal node is
 * BRANCH_LEQ with the node's float32 threshold (a bin edge that is itself a
 * float32 data value), so onnxruntime's `x <= threshold` on float32 inputs
 * routes each row as `leafIndex` does. Leaf values and the base score are
 * float32 in both. The encoding is deterministic: same model, same bytes (no
 * timestamps, no random ids), so the bundle's sha256 is reproducible.
 */

import { AtpError } from '@mercato/platform/errors';
import { MODEL_INPUT_NAME, MODEL_OUTPUT_NAME } from '@mercato/proto/v1/model-manifest';
import onnxProto from 'onnx-proto';
import { ERR } from '../errors.js';
import type { GbdtModel } from '../gbdt/gbdt-model.js';

const { onnx } = onnxProto;

/** IR version 8 (ONNX 1.10): the newest the onnx-proto schema knows; onnxruntime 1.30 reads it. */
export const ONNX_IR_VERSION = 8;
/** Default-domain opset (Sigmoid). */
export const ONNX_OPSET = 13;
/** ai.onnx.ml opset: TreeEnsembleRegressor v3 (float attributes, as onnxruntime 1.30 runs it). */
export const ONNX_ML_OPSET = 3;
export const ONNX_ML_DOMAIN = 'ai.onnx.ml';
export const ONNX_PRODUCER = 'mercato-atp training';
/** Name of the intermediate raw-score (logit) tensor. */
export const RAW_SCORE_NAME = 'raw_score';
/** TensorProto.DataType.FLOAT. */
const ONNX_FLOAT = 1;
/** Symbolic batch dimension. */
const BATCH_DIM = 'N';

const A = onnx.AttributeProto.AttributeType;

export interface ExportOptions {
  /** Written to the graph's doc string and metadata (e.g. the bundle version). */
  modelVersion?: string;
  /** Feature names in input order, recorded as metadata for outside tools. */
  featureNames?: readonly string[];
}

/** Serialises the model to ONNX bytes. `featureCount` is the input width F (must equal the model's). */
export function exportGbdtToOnnx(
  model: GbdtModel,
  featureCount: number,
  opts: ExportOptions = {},
): Uint8Array {
  if (featureCount !== model.featureCount) {
    throw new AtpError(
      ERR.INVALID_ARGUMENT,
      `exportGbdtToOnnx: the model has ${model.featureCount} features, asked for ${featureCount}`,
      'featureCount',
    );
  }
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const values: number[] = [];
  const modes: Uint8Array[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const targetTreeIds: number[] = [];
  const targetNodeIds: number[] = [];
  const targetIds: number[] = [];
  const targetWeights: number[] = [];
  const LEAF = utf8('LEAF');
  const BRANCH_LEQ = utf8('BRANCH_LEQ');
  model.trees.forEach((t, ti) => {
    for (let n = 0; n < t.nodeCount; n++) {
      treeIds.push(ti);
      nodeIds.push(n);
      const f = t.feature[n]!;
      if (f < 0) {
        featureIds.push(0);
        values.push(0);
        modes.push(LEAF);
        trueIds.push(0);
        falseIds.push(0);
        targetTreeIds.push(ti);
        targetNodeIds.push(n);
        targetIds.push(0);
        targetWeights.push(t.value[n]!);
      } else {
        featureIds.push(f);
        values.push(t.threshold[n]!);
        modes.push(BRANCH_LEQ);
        trueIds.push(t.left[n]!);
        falseIds.push(t.right[n]!);
      }
    }
  });

  const ensemble = onnx.NodeProto.create({
    name: 'gbdt',
    opType: 'TreeEnsembleRegressor',
    domain: ONNX_ML_DOMAIN,
    input: [MODEL_INPUT_NAME],
    output: [RAW_SCORE_NAME],
    attribute: [
      ints('nodes_treeids', treeIds),
      ints('nodes_nodeids', nodeIds),
      ints('nodes_featureids', featureIds),
      floats('nodes_values', values),
      strings('nodes_modes', modes),
      ints('nodes_truenodeids', trueIds),
      ints('nodes_falsenodeids', falseIds),
      ints('target_treeids', targetTreeIds),
      ints('target_nodeids', targetNodeIds),
      ints('target_ids', targetIds),
      floats('target_weights', targetWeights),
      { name: 'n_targets', type: A.INT, i: 1 },
      floats('base_values', [model.baseScore]),
      { name: 'aggregate_function', type: A.STRING, s: utf8('SUM') },
      { name: 'post_transform', type: A.STRING, s: utf8('NONE') },
    ],
  });
  const sigmoid = onnx.NodeProto.create({
    name: 'sigmoid',
    opType: 'Sigmoid',
    input: [RAW_SCORE_NAME],
    output: [MODEL_OUTPUT_NAME],
  });
  const metadata = [{ key: 'feature_count', value: String(featureCount) }];
  if (opts.featureNames !== undefined)
    metadata.push({ key: 'feature_names', value: opts.featureNames.join(',') });
  if (opts.modelVersion !== undefined) metadata.push({ key: 'model_version', value: opts.modelVersion });
  const proto = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    producerName: ONNX_PRODUCER,
    producerVersion: '1',
    opsetImport: [
      { domain: '', version: ONNX_OPSET },
      { domain: ONNX_ML_DOMAIN, version: ONNX_ML_OPSET },
    ],
    metadataProps: metadata,
    graph: {
      name: 'atp_p_fulfill',
      docString: `gradient-boosted trees (${model.trees.length} trees) + sigmoid: p_raw = P(pick succeeds)`,
      node: [ensemble, sigmoid],
      input: [tensorInfo(MODEL_INPUT_NAME, featureCount)],
      output: [tensorInfo(MODEL_OUTPUT_NAME, 1)],
    },
  });
  return onnx.ModelProto.encode(proto).finish();
}

function tensorInfo(name: string, width: number): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_FLOAT,
        shape: { dim: [{ dimParam: BATCH_DIM }, { dimValue: width }] },
      },
    },
  };
}

function ints(name: string, v: number[]): onnxProto.onnx.IAttributeProto {
  return { name, type: A.INTS, ints: v };
}

function floats(name: string, v: number[]): onnxProto.onnx.IAttributeProto {
  return { name, type: A.FLOATS, floats: v };
}

function strings(name: string, v: Uint8Array[]): onnxProto.onnx.IAttributeProto {
  return { name, type: A.STRINGS, strings: v };
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
