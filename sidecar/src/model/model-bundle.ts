/**
 * Reads a model bundle folder (proto/v1/model-manifest.ts) and refuses it
 * unless it is exactly what the manifest says and what this sidecar's
 * feature module computes:
 * 1. manifest.json parses (errors name the field);
 * 2. the BundleVerifier accepts it (default: none; the control-plane work
 *    plugs in the ed25519 signature check over manifest.json here);
 * 3. sha256(model file) equals `model_sha256`;
 * 4. `feature_schema_hash` equals featureSchemaHash() and `feature_names`
 *    equal FEATURE_NAMES, in order.
 * Nothing is loaded into a runtime here; see ModelRegistry.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { FEATURE_NAMES, featureSchemaHash } from '@mercato/features/feature-vector';
import { AtpError } from '@mercato/platform/errors';
import {
  MANIFEST_FILE,
  type ModelManifest,
  parseModelManifest,
  SIGNATURE_FILE,
} from '@mercato/proto/v1/model-manifest';
import { ContractError } from '@mercato/proto/v1/validate';
import { ERR } from '../errors.js';

export interface BundleFiles {
  dir: string;
  /** The exact bytes of manifest.json (what a signature covers). */
  manifestBytes: Buffer;
  /** manifest.sig, when present. */
  signature: Buffer | null;
  manifest: ModelManifest;
}

/**
 * Seam for bundle authenticity (DESIGN.md §8: checksum and signature
 * verified before use). Throw an AtpError (MODEL_SIGNATURE_INVALID) to refuse.
 */
export interface BundleVerifier {
  verify(files: BundleFiles): void | Promise<void>;
}

/** Accepts every bundle whose checksum matches: signing is not configured yet. */
export const CHECKSUM_ONLY: BundleVerifier = { verify: () => undefined };

export interface VerifiedBundle {
  dir: string;
  manifest: ModelManifest;
  modelBytes: Uint8Array;
}

/** File in a models root naming the default bundle's version (written by training). */
export const CURRENT_POINTER_FILE = 'CURRENT';

/**
 * A bundle folder, or a models root whose CURRENT file names the bundle
 * (`models/` -> `models/<version>/`).
 */
export async function resolveBundleDir(dir: string): Promise<string> {
  const direct = await readFile(join(dir, MANIFEST_FILE)).then(
    () => true,
    () => false,
  );
  if (direct) return dir;
  const pointer = await readFile(join(dir, CURRENT_POINTER_FILE), 'utf8').catch(() => null);
  const version = pointer?.trim();
  if (version === undefined || version === '' || basename(version) !== version) return dir;
  return join(dir, version);
}

/** The manifest of the bundle in `dir`, parsed, with its raw bytes and its detached signature (if any). */
export async function readBundleManifest(
  dir: string,
): Promise<{ manifestBytes: Buffer; manifest: ModelManifest; signature: Buffer | null }> {
  const manifestBytes = await readFile(join(dir, MANIFEST_FILE)).catch((err: NodeJS.ErrnoException) => {
    throw new AtpError(ERR.MODEL_NOT_FOUND, `no ${MANIFEST_FILE} in ${dir} (${err.code ?? err.message})`);
  });
  let manifest: ModelManifest;
  try {
    manifest = parseModelManifest(JSON.parse(manifestBytes.toString('utf8')));
  } catch (err) {
    const field = err instanceof ContractError ? err.field : '$';
    throw new AtpError(
      ERR.MODEL_MANIFEST_INVALID,
      `${dir}/${MANIFEST_FILE}: ${(err as Error).message}`,
      field,
    );
  }
  if (basename(manifest.modelFile) !== manifest.modelFile) {
    throw new AtpError(
      ERR.MODEL_MANIFEST_INVALID,
      'model_file must be a file name inside the bundle',
      'model_file',
    );
  }
  const signature = await readFile(join(dir, SIGNATURE_FILE)).catch(() => null);
  return { manifestBytes, manifest, signature };
}

/** The model file's bytes, refused unless their sha256 is the one the manifest names. */
export async function readCheckedModel(dir: string, manifest: ModelManifest): Promise<Buffer> {
  const modelBytes = await readFile(join(dir, manifest.modelFile)).catch((err: NodeJS.ErrnoException) => {
    throw new AtpError(
      ERR.MODEL_NOT_FOUND,
      `no ${manifest.modelFile} in ${dir} (${err.code ?? err.message})`,
    );
  });
  const sha = createHash('sha256').update(modelBytes).digest('hex');
  if (sha !== manifest.modelSha256) {
    throw new AtpError(
      ERR.MODEL_CHECKSUM_MISMATCH,
      `${manifest.modelFile} has sha256 ${sha}, the manifest says ${manifest.modelSha256}`,
      'model_sha256',
    );
  }
  return modelBytes;
}

export async function readModelBundle(
  folder: string,
  verifier: BundleVerifier = CHECKSUM_ONLY,
): Promise<VerifiedBundle> {
  const dir = await resolveBundleDir(folder);
  const { manifestBytes, manifest, signature } = await readBundleManifest(dir);
  await verifier.verify({ dir, manifestBytes, signature, manifest });
  const modelBytes = await readCheckedModel(dir, manifest);
  const expectedHash = featureSchemaHash();
  if (manifest.featureSchemaHash !== expectedHash) {
    throw new AtpError(
      ERR.MODEL_SCHEMA_MISMATCH,
      `bundle ${manifest.version} was trained on feature schema ${manifest.featureSchemaHash}, this sidecar computes ${expectedHash}`,
      'feature_schema_hash',
    );
  }
  const names = manifest.featureNames;
  if (names.length !== FEATURE_NAMES.length || names.some((n, i) => n !== FEATURE_NAMES[i])) {
    throw new AtpError(
      ERR.MODEL_SCHEMA_MISMATCH,
      `feature_names differ from this sidecar's ${FEATURE_NAMES.length} features`,
      'feature_names',
    );
  }
  return { dir, manifest, modelBytes };
}
