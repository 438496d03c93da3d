/**
 * ed25519 signing of model bundles (proto/v1/model-manifest.ts): the
 * signature is base64 text in `manifest.sig` over the exact bytes of
 * `manifest.json`, and the manifest carries the model file's sha256, so one
 * signature covers both files. Pure crypto, no I/O: the control plane (on
 * push), atpctl (sign, keygen) and the sidecar's bundle verifier (before
 * activation) share it.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';

export const ED25519_SIGNATURE_BYTES = 64;
export const KEY_ID_PREFIX = 'ed25519:';
const KEY_ID_HEX = 16;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Short stable id of a public key: sha256 of its SPKI DER, 16 hex digits. */
export function publicKeyId(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  return KEY_ID_PREFIX + sha256Hex(der).slice(0, KEY_ID_HEX);
}

/** Parses a PEM public key; throws an Error naming `source` unless it is ed25519. */
export function parsePublicKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new Error(`${source}: not a PEM public key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${source}: expected an ed25519 key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return key;
}

export function parsePrivateKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${source}: not a PEM private key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${source}: expected an ed25519 key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return key;
}

export interface SigningKeys {
  publicPem: string;
  privatePem: string;
  keyId: string;
}

export function generateSigningKeys(): SigningKeys {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    keyId: publicKeyId(publicKey),
  };
}

/** The manifest.sig text (base64 and a newline) for these manifest bytes. */
export function signManifest(manifestBytes: Uint8Array, privateKey: KeyObject): string {
  return `${sign(null, manifestBytes, privateKey).toString('base64')}\n`;
}

/** The raw signature in a manifest.sig file, or null when it is not base64 of 64 bytes. */
export function decodeSignature(sigFile: Uint8Array): Buffer | null {
  const text = Buffer.from(sigFile).toString('utf8').trim();
  if (!BASE64_RE.test(text)) return null;
  const sig = Buffer.from(text, 'base64');
  return sig.length === ED25519_SIGNATURE_BYTES ? sig : null;
}

/** Id of the trusted key that made this signature, or null when none did. */
export function verifyManifestSignature(
  manifestBytes: Uint8Array,
  signature: Uint8Array,
  trustedKeys: readonly KeyObject[],
): string | null {
  for (const key of trustedKeys) {
    if (verify(null, manifestBytes, key, signature)) return publicKeyId(key);
  }
  return null;
}
