/**
 * The control plane's snapshot signing key and the signing itself
 * (proto/v1/snapshot-signature.ts). Where the key comes from, in order:
 *
 * 1. `--signing-key <pem>` (signingKeyPath) or inline PEM (tests): an
 *    ed25519 PKCS#8 private key. Production: one key shared by every
 *    replica, its public half given to sidecars as a trusted key.
 * 2. The state dir (default: the SQLite file's folder): the key generated
 *    the first time, SIGNING_KEY_FILE (0600) with SIGNING_PUBLIC_KEY_FILE
 *    beside it, reused on every start (local and development setups).
 * 3. No state dir (an in-memory store): a key generated for this process.
 *
 * Signatures are made when a snapshot leaves the process and cached per
 * version, so the stored rows never depend on which replica (or key) will
 * serve them.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AtpError } from '@mercato/platform/errors';
import { generateSigningKeys, parsePrivateKey, publicKeyId } from '@mercato/proto/v1/bundle-signature';
import type { ControlSnapshot } from '@mercato/proto/v1/control-snapshot';
import { signSnapshot } from '@mercato/proto/v1/snapshot-signature';
import { ERR } from '../errors.js';

export const SIGNING_KEY_FILE = 'snapshot-signing.key.pem';
export const SIGNING_PUBLIC_KEY_FILE = 'snapshot-signing.pub.pem';
/** Signed versions kept (the latest few plus resumes). */
const SIGNED_CACHE_ENTRIES = 64;

export type SigningKeySource = 'configured' | 'state-dir' | 'generated-now' | 'ephemeral';

export interface SigningKeyOptions {
  path: string | null;
  pem: string | null;
  stateDir: string | null;
}

export class SnapshotSigner {
  readonly keyId: string;
  readonly publicKey: KeyObject;
  readonly publicPem: string;
  private readonly cache = new Map<string, ControlSnapshot>();

  constructor(
    private readonly privateKey: KeyObject,
    /** Where the key came from, for the start log. */
    readonly source: SigningKeySource,
    /** The public key file sidecars should trust, when there is one on disk. */
    readonly publicKeyPath: string | null = null,
  ) {
    this.publicKey = createPublicKey(privateKey);
    this.keyId = publicKeyId(this.publicKey);
    this.publicPem = this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  /** The snapshot with this key's signature; null when it has no chain link (stored before chaining). */
  sign(s: ControlSnapshot): ControlSnapshot | null {
    if (s.prevHash === undefined) return null;
    const key = `${s.version}:${s.contentHash}`;
    let signed = this.cache.get(key);
    if (signed === undefined) {
      signed = signSnapshot(s, this.privateKey, this.keyId);
      this.cache.set(key, signed);
      if (this.cache.size > SIGNED_CACHE_ENTRIES) {
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) this.cache.delete(oldest);
      }
    }
    return signed;
  }
}

/** The signer for these options (see the file comment for the order); throws CONFIG_INVALID naming `signingKey`. */
export function loadSnapshotSigner(opts: SigningKeyOptions): SnapshotSigner {
  if (opts.pem !== null) return new SnapshotSigner(parseKey(opts.pem, 'signingKeyPem'), 'configured');
  if (opts.path !== null) return new SnapshotSigner(parseKey(readKey(opts.path), opts.path), 'configured');
  if (opts.stateDir === null) {
    return new SnapshotSigner(parseKey(generateSigningKeys().privatePem, 'generated'), 'ephemeral');
  }
  const keyPath = join(opts.stateDir, SIGNING_KEY_FILE);
  const pubPath = join(opts.stateDir, SIGNING_PUBLIC_KEY_FILE);
  if (existsSync(keyPath))
    return new SnapshotSigner(parseKey(readKey(keyPath), keyPath), 'state-dir', pubPath);
  const keys = generateSigningKeys();
  try {
    mkdirSync(opts.stateDir, { recursive: true });
    // wx: never overwrite a key another process wrote meanwhile.
    writeFileSync(keyPath, keys.privatePem, { mode: 0o600, flag: 'wx' });
    writeFileSync(pubPath, keys.publicPem, { mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      return new SnapshotSigner(parseKey(readKey(keyPath), keyPath), 'state-dir', pubPath);
    }
    throw new AtpError(
      ERR.CONFIG_INVALID,
      `cannot write the snapshot signing key to ${opts.stateDir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      'stateDir',
      { cause: err },
    );
  }
  return new SnapshotSigner(parseKey(keys.privatePem, keyPath), 'generated-now', pubPath);
}

function readKey(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new AtpError(
      ERR.CONFIG_INVALID,
      `cannot read the snapshot signing key ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      'signingKey',
      { cause: err },
    );
  }
}

function parseKey(pem: string, source: string): KeyObject {
  try {
    return parsePrivateKey(pem, source);
  } catch (err) {
    throw new AtpError(ERR.CONFIG_INVALID, (err as Error).message, 'signingKey', { cause: err });
  }
}
