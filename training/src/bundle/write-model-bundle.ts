/**
 * Writes a model bundle folder (proto/v1/model-manifest.ts): `model.onnx`
 * and `manifest.json` carrying the ONNX file's sha256. The manifest is
 * re-parsed with parseModelManifest before anything is written, so a bundle
 * that leaves here is one the sidecar accepts. Output is byte-deterministic:
 * the same inputs give the same two files (no timestamps).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_COUNT, FEATURE_NAMES, featureSchemaHash } from '@mercato/features/feature-vector';
import { AtpError } from '@mercato/platform/errors';
import {
  type Calibration,
  type DriftHistogram,
  MANIFEST_FILE,
  MODEL_FILE,
  MODEL_MANIFEST_SCHEMA,
  type ModelManifest,
  manifestToJson,
  parseModelManifest,
  type Thresholds,
} from '@mercato/proto/v1/model-manifest';
import { ERR } from '../errors.js';
import type { GbdtModel } from '../gbdt/gbdt-model.js';
import { exportGbdtToOnnx } from '../onnx/export-gbdt-onnx.js';

/** Name of the file in the models root that names the default bundle. */
export const CURRENT_FILE = 'CURRENT';

/**
 * Thresholds used when the caller has none (test bundles): the cost-derived
 * values come from calibration/thresholds.ts in a real training run.
 */
export const DEFAULT_THRESHOLDS: Thresholds = {
  costRatio: 10,
  checkout: { hot: 0.93, cold: 0.9 },
  browse: { hot: 0.7, cold: 0.65 },
  staleMargin: 0.05,
  hotSkuRatePerMin: 5,
};

export interface ModelBundleInput {
  version: string;
  /** The trained model (exported here), or... */
  model?: GbdtModel;
  /** ...ONNX bytes already exported. One of the two is required. */
  onnx?: Uint8Array;
  /** Defaults to the sidecar's FEATURE_NAMES (the model's input width must match). */
  featureNames?: readonly string[];
  /** Defaults to featureSchemaHash() of the sidecar's feature module. */
  featureSchemaHash?: string;
  /** Defaults to { method: 'none' } (p_raw is used as is). */
  calibration?: Calibration;
  thresholds?: Thresholds;
  metrics?: Record<string, unknown>;
  driftBaseline?: Record<string, DriftHistogram>;
  dataWindow?: Record<string, unknown>;
  training?: Record<string, unknown>;
}

export interface WrittenBundle {
  dir: string;
  manifest: ModelManifest;
  modelBytes: Uint8Array;
  /** The exact bytes written to manifest.json. */
  manifestBytes: Buffer;
}

/** Builds the manifest and the ONNX bytes without touching the disk. */
export function buildModelBundle(input: ModelBundleInput): Omit<WrittenBundle, 'dir'> {
  const featureNames = [...(input.featureNames ?? FEATURE_NAMES)];
  let modelBytes: Uint8Array;
  if (input.onnx !== undefined) modelBytes = input.onnx;
  else if (input.model !== undefined) {
    if (input.model.featureCount !== featureNames.length) {
      throw new AtpError(
        ERR.INVALID_ARGUMENT,
        `writeModelBundle: the model has ${input.model.featureCount} features, featureNames has ${featureNames.length}`,
      );
    }
    modelBytes = exportGbdtToOnnx(input.model, featureNames.length, {
      modelVersion: input.version,
      featureNames,
    });
  } else throw new AtpError(ERR.INVALID_ARGUMENT, 'writeModelBundle: give either model or onnx', 'model');
  const manifest: ModelManifest = {
    schema: MODEL_MANIFEST_SCHEMA,
    version: input.version,
    modelFile: MODEL_FILE,
    modelSha256: sha256Hex(modelBytes),
    featureNames,
    featureSchemaHash: input.featureSchemaHash ?? schemaHashOf(featureNames),
    calibration: input.calibration ?? { method: 'none' },
    thresholds: input.thresholds ?? DEFAULT_THRESHOLDS,
    metrics: input.metrics ?? {},
    driftBaseline: input.driftBaseline ?? {},
    dataWindow: input.dataWindow ?? {},
    training: input.training ?? {},
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifestToJson(manifest), null, 2)}\n`, 'utf8');
  // Refuse to write what the sidecar would refuse to read.
  const parsed = parseModelManifest(JSON.parse(manifestBytes.toString('utf8')));
  return { manifest: parsed, modelBytes, manifestBytes };
}

/** Writes `dir/model.onnx` and `dir/manifest.json` (creating dir) and returns the parsed manifest. */
export function writeModelBundle(dir: string, input: ModelBundleInput): WrittenBundle {
  const built = buildModelBundle(input);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, MODEL_FILE), built.modelBytes);
  writeFileSync(join(dir, MANIFEST_FILE), built.manifestBytes);
  return { dir, ...built };
}

/** Points `root/CURRENT` at a bundle version (one line), the sidecar's default bundle. */
export function writeCurrentPointer(root: string, version: string): void {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, CURRENT_FILE), `${version}\n`);
}

/** featureSchemaHash() for the sidecar's own names; a hash of the names otherwise (the sidecar refuses those). */
function schemaHashOf(names: readonly string[]): string {
  const same = names.length === FEATURE_COUNT && names.every((n, i) => n === FEATURE_NAMES[i]);
  return same
    ? featureSchemaHash()
    : createHash('sha256')
        .update(`custom:${names.join(',')}`)
        .digest('hex')
        .slice(0, 16);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
