/**
 * Bundle authenticity in the sidecar (DESIGN.md §8: checksum and signature
 * verified by the sidecar before use). Two entry points over the same
 * checks:
 *
 * - `createSignatureVerifier(keys)`: the ModelRegistry's BundleVerifier
 *   seam (sidecar/src/model/model-bundle.ts). readModelBundle calls it with
 *   the exact manifest.json bytes and manifest.sig; it refuses an unsigned
 *   bundle or a signature no trusted key made. readModelBundle then checks
 *   the model's sha256 against the (now authenticated) manifest.
 * - `verifyBundleDir(dir, keys)`: the whole check on a folder (manifest
 *   parses, signed by a trusted key, model sha256 matches), used before a
 *   downloaded bundle is admitted to the local cache.
 *
 * Refusals are AtpErrors with the model registry's codes:
 * MODEL_SIGNATURE_INVALID (unsigned, malformed or untrusted signature),
 * MODEL_CHECKSUM_MISMATCH, MODEL_MANIFEST_INVALID, MODEL_NOT_FOUND.
 */
import type { KeyObject } from 'node:crypto';
import { AtpError } from '@mercato/platform/errors';
import { decodeSignature, verifyManifestSignature } from '@mercato/proto/v1/bundle-signature';
import { MANIFEST_FILE, type ModelManifest, SIGNATURE_FILE } from '@mercato/proto/v1/model-manifest';
import { ERR } from '../errors.js';
import {
  type BundleFiles,
  type BundleVerifier,
  readBundleManifest,
  readCheckedModel,
} from '../model/model-bundle.js';

export { loadTrustedKeys } from '@mercato/proto/v1/trusted-keys';

/** Checks manifest.sig over the manifest bytes; returns the id of the key that made it. */
export function verifySignature(
  manifestBytes: Uint8Array,
  signatureFile: Uint8Array | null,
  keys: readonly KeyObject[],
  what: string,
): string {
  if (signatureFile === null) {
    throw new AtpError(
      ERR.MODEL_SIGNATURE_INVALID,
      `${what} is unsigned (no ${SIGNATURE_FILE}); refused`,
      SIGNATURE_FILE,
    );
  }
  const sig = decodeSignature(signatureFile);
  if (sig === null) {
    throw new AtpError(
      ERR.MODEL_SIGNATURE_INVALID,
      `${what}: ${SIGNATURE_FILE} is not base64 of a 64-byte ed25519 signature`,
      SIGNATURE_FILE,
    );
  }
  if (keys.length === 0) {
    throw new AtpError(
      ERR.MODEL_SIGNATURE_INVALID,
      `${what}: this sidecar trusts no signing key (--trusted-key)`,
      SIGNATURE_FILE,
    );
  }
  const keyId = verifyManifestSignature(manifestBytes, sig, keys);
  if (keyId === null) {
    throw new AtpError(
      ERR.MODEL_SIGNATURE_INVALID,
      `${what}: ${SIGNATURE_FILE} does not verify over ${MANIFEST_FILE} with any of ${keys.length} trusted key(s) (tampered, or signed by an unknown key)`,
      SIGNATURE_FILE,
    );
  }
  return keyId;
}

/** The ModelRegistry seam: refuses unsigned bundles and signatures no trusted key made. */
export function createSignatureVerifier(trustedKeys: readonly KeyObject[]): BundleVerifier {
  const keys = [...trustedKeys];
  return {
    verify(files: BundleFiles): void {
      verifySignature(
        files.manifestBytes,
        files.signature,
        keys,
        `bundle ${files.manifest.version} (${files.dir})`,
      );
    },
  };
}

export interface VerifiedBundleDir {
  dir: string;
  manifest: ModelManifest;
  keyId: string;
}

/** Manifest parses, signature by a trusted key, model bytes match model_sha256. */
export async function verifyBundleDir(
  dir: string,
  trustedKeys: readonly KeyObject[],
): Promise<VerifiedBundleDir> {
  const { manifestBytes, manifest, signature } = await readBundleManifest(dir);
  const keyId = verifySignature(manifestBytes, signature, trustedKeys, `bundle ${manifest.version}`);
  await readCheckedModel(dir, manifest);
  return { dir, manifest, keyId };
}
