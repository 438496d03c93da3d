/**
 * The control plane's check of a pushed bundle, before it is stored:
 * manifest parses, the version is a safe folder name, it is signed by a
 * trusted key, and the model bytes hash to the manifest's model_sha256.
 * The sidecar checks the same again before activation (it trusts bytes,
 * not the control plane).
 */
import type { KeyObject } from 'node:crypto';
import { basename } from 'node:path';
import { AtpError } from '@mercato/platform/errors';
import { decodeSignature, sha256Hex, verifyManifestSignature } from '@mercato/proto/v1/bundle-signature';
import { type ModelManifest, parseModelManifest } from '@mercato/proto/v1/model-manifest';
import { ContractError } from '@mercato/proto/v1/validate';
import { ERR } from '../errors.js';
import type { StoreTx } from '../store/control-store.js';
import type { ModelFiles, ModelRow } from '../store/model-queries.js';

/** Versions become folder names on sidecars (models/<version>/): no separators, no leading dot. */
export const MODEL_VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface BundleBytes {
  manifest: Buffer;
  signature: Buffer | null;
  model: Buffer;
}

export interface VerifiedBundleBytes {
  manifest: ModelManifest;
  keyId: string;
}

export function verifyBundleBytes(b: BundleBytes, trustedKeys: readonly KeyObject[]): VerifiedBundleBytes {
  let manifest: ModelManifest;
  try {
    manifest = parseModelManifest(JSON.parse(b.manifest.toString('utf8')));
  } catch (err) {
    const field = err instanceof ContractError ? `manifest.${err.field}` : 'manifest';
    throw new AtpError(ERR.MODEL_MANIFEST_INVALID, `manifest.json: ${(err as Error).message}`, field);
  }
  if (!MODEL_VERSION_RE.test(manifest.version)) {
    throw new AtpError(
      ERR.MODEL_MANIFEST_INVALID,
      'manifest version must be letters, digits and . _ - (not first), at most 128',
      'manifest.version',
    );
  }
  if (basename(manifest.modelFile) !== manifest.modelFile || manifest.modelFile.startsWith('.')) {
    throw new AtpError(
      ERR.MODEL_MANIFEST_INVALID,
      'model_file must be a file name inside the bundle',
      'manifest.model_file',
    );
  }
  if (b.signature === null) {
    throw new AtpError(ERR.MODEL_UNSIGNED, `bundle ${manifest.version} has no manifest.sig`, 'signature');
  }
  const sig = decodeSignature(b.signature);
  if (sig === null) {
    throw new AtpError(
      ERR.MODEL_SIGNATURE_INVALID,
      'manifest.sig is not base64 of a 64-byte ed25519 signature',
      'signature',
    );
  }
  if (trustedKeys.length === 0) {
    throw new AtpError(
      ERR.MODEL_SIGNATURE_INVALID,
      'this control plane trusts no signing key (start it with --trusted-key)',
      'signature',
    );
  }
  const keyId = verifyManifestSignature(b.manifest, sig, trustedKeys);
  if (keyId === null) {
    throw new AtpError(
      ERR.MODEL_SIGNATURE_INVALID,
      `manifest.sig of ${manifest.version} does not verify against any of the ${trustedKeys.length} trusted key(s)`,
      'signature',
    );
  }
  const sha = sha256Hex(b.model);
  if (sha !== manifest.modelSha256) {
    throw new AtpError(
      ERR.MODEL_CHECKSUM_MISMATCH,
      `${manifest.modelFile} has sha256 ${sha}, the manifest says ${manifest.modelSha256}`,
      'model',
    );
  }
  return { manifest, keyId };
}

/**
 * Re-verifies a pushed bundle as it is stored now (promote, download): the
 * same checks as a push, and the manifest must still be the one pushed
 * (version, model file, sha256). A failure is MODEL_INTEGRITY_FAILED naming
 * what no longer holds; a model already marked as failed is refused
 * without looking again (its bytes are not trusted even if restored).
 */
export async function verifyStoredBundle(
  tx: StoreTx,
  version: string,
  trustedKeys: readonly KeyObject[],
): Promise<VerifiedBundleBytes & { row: ModelRow; files: ModelFiles }> {
  const row = await tx.models.get(version);
  const files = await tx.models.files(version);
  if (row === undefined || files === undefined)
    throw new AtpError(ERR.NOT_FOUND, `no model ${version}`, 'version');
  if (row.integrityFailedAtMs !== null && row.integrityFailedAtMs !== undefined) {
    throw new AtpError(
      ERR.MODEL_INTEGRITY_FAILED,
      `model ${version} failed an integrity check at ${new Date(row.integrityFailedAtMs).toISOString()}; it is never promoted or served again`,
      'version',
    );
  }
  let verified: VerifiedBundleBytes;
  try {
    verified = verifyBundleBytes(files, trustedKeys);
  } catch (err) {
    const e = err as AtpError;
    throw new AtpError(
      ERR.MODEL_INTEGRITY_FAILED,
      `model ${version} as stored does not verify (${e.code}: ${e.message})`,
      'version',
      { cause: err },
    );
  }
  const m = verified.manifest;
  if (m.version !== row.version || m.modelFile !== row.modelFile || m.modelSha256 !== row.modelSha256) {
    throw new AtpError(
      ERR.MODEL_INTEGRITY_FAILED,
      `model ${version} as stored names ${m.version}/${m.modelFile} sha256 ${m.modelSha256}, pushed as ${row.version}/${row.modelFile} sha256 ${row.modelSha256}`,
      'version',
    );
  }
  return { ...verified, row, files };
}
