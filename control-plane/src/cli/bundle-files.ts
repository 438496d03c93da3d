/**
 * Local bundle-folder work for atpctl: read a bundle for `model push`,
 * sign it (`model sign`), generate a signing key pair (`model keygen`).
 * Private keys are written with mode 0600 and never leave the machine.
 */

import { createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { AtpError } from '@mercato/platform/errors';
import {
  generateSigningKeys,
  parsePrivateKey,
  publicKeyId,
  signManifest,
} from '@mercato/proto/v1/bundle-signature';
import { MANIFEST_FILE, SIGNATURE_FILE } from '@mercato/proto/v1/model-manifest';
import { ERR, withHint } from '../errors.js';

export const PRIVATE_KEY_FILE = 'bundle-signing.key.pem';
export const PUBLIC_KEY_FILE = 'bundle-signing.pub.pem';
const MODEL_FILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface LocalBundle {
  version: string;
  manifest: Buffer;
  signature: Buffer | null;
  model: Buffer;
  modelFile: string;
}

function readOrThrow(path: string, what: string, hint: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new AtpError(
      withHint(ERR.CONFIG_INVALID, hint),
      `${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

export function readLocalBundle(dir: string): LocalBundle {
  const hint = 'pass a bundle folder (models/<version>/ with manifest.json, manifest.sig and the model file)';
  const manifest = readOrThrow(join(dir, MANIFEST_FILE), 'cannot read', hint);
  let parsed: { version?: unknown; model_file?: unknown };
  try {
    parsed = JSON.parse(manifest.toString('utf8')) as typeof parsed;
  } catch (err) {
    throw new AtpError(
      ERR.MODEL_MANIFEST_INVALID,
      `${join(dir, MANIFEST_FILE)}: not JSON (${(err as Error).message})`,
      'manifest',
    );
  }
  const modelFile = typeof parsed.model_file === 'string' ? parsed.model_file : 'model.onnx';
  const modelPath = insideBundle(dir, modelFile);
  const sigPath = join(dir, SIGNATURE_FILE);
  return {
    version: String(parsed.version ?? ''),
    manifest,
    signature: existsSync(sigPath) ? readFileSync(sigPath) : null,
    model: readOrThrow(modelPath, 'cannot read the model file', hint),
    modelFile,
  };
}

/**
 * The model file's path, checked BEFORE anything is read or uploaded: a
 * plain file name inside the bundle folder (letters, digits and . _ -, not
 * first: no separators, no `..`, no control characters), and, once symlinks are resolved,
 * still inside it. A manifest naming `../../../../etc/passwd` (or a link
 * to it) never makes atpctl read, let alone upload, that file.
 */
export function insideBundle(dir: string, modelFile: string): string {
  // The same names the admin API serves bundle files under (letters, digits, . _ -; not first).
  const plain = basename(modelFile) === modelFile && MODEL_FILE_NAME_RE.test(modelFile);
  if (!plain) {
    throw new AtpError(
      ERR.MODEL_MANIFEST_INVALID,
      `manifest.json model_file ${JSON.stringify(modelFile.slice(0, 80))} is not a file name inside the bundle folder; nothing was read or uploaded`,
      'manifest.model_file',
    );
  }
  const path = join(dir, modelFile);
  let real: string;
  let realDir: string;
  try {
    real = realpathSync(path);
    realDir = realpathSync(dir);
  } catch {
    return path; // missing: readOrThrow reports it
  }
  const rel = relative(realDir, real);
  if (rel === '' || rel.startsWith('..') || rel.includes(sep)) {
    throw new AtpError(
      ERR.MODEL_MANIFEST_INVALID,
      `${path} resolves outside the bundle folder (${real}); nothing was read or uploaded`,
      'manifest.model_file',
    );
  }
  return path;
}

/** Writes manifest.sig over the exact manifest.json bytes; returns the signing key's id. */
export function signBundle(dir: string, privateKeyPath: string): { keyId: string; signaturePath: string } {
  const pem = readOrThrow(
    privateKeyPath,
    'cannot read private key',
    'pass --key <private.pem> (atpctl model keygen makes one)',
  ).toString('utf8');
  let key: ReturnType<typeof parsePrivateKey>;
  try {
    key = parsePrivateKey(pem, privateKeyPath);
  } catch (err) {
    throw new AtpError(
      withHint(ERR.CONFIG_INVALID, 'pass an ed25519 PKCS#8 PEM private key (atpctl model keygen)'),
      (err as Error).message,
      'key',
    );
  }
  const manifest = readOrThrow(
    join(dir, MANIFEST_FILE),
    'cannot read',
    'pass a bundle folder with manifest.json',
  );
  const signaturePath = join(dir, SIGNATURE_FILE);
  writeFileSync(signaturePath, signManifest(manifest, key));
  return { keyId: publicKeyId(createPublicKey(key)), signaturePath };
}

/** A new ed25519 key pair in `outDir`; refuses to overwrite an existing private key. */
export function generateKeyFiles(outDir: string): { keyId: string; privatePath: string; publicPath: string } {
  const privatePath = join(outDir, PRIVATE_KEY_FILE);
  const publicPath = join(outDir, PUBLIC_KEY_FILE);
  if (existsSync(privatePath)) {
    throw new AtpError(
      withHint(
        ERR.CONFIG_INVALID,
        'choose another --out folder, or delete the old key if you really mean to replace it',
      ),
      `${privatePath} exists; not overwriting a private key`,
      'out',
    );
  }
  const keys = generateSigningKeys();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(privatePath, keys.privatePem, { mode: 0o600 });
  writeFileSync(publicPath, keys.publicPem, { mode: 0o644 });
  return { keyId: keys.keyId, privatePath, publicPath };
}
