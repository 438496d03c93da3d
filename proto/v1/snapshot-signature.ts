/**
 * Signed control snapshots (DESIGN §6, §8): the control plane signs every
 * snapshot it publishes with ed25519 (the bundle machinery of
 * bundle-signature.ts), and every receiver checks it with `verifySnapshot`
 * before applying or persisting it. Pure: no I/O.
 *
 * What is signed is a short statement, not the JSON text:
 *
 *   atp.control-snapshot.sig.v1 \n <version> \n <content_hash> \n <prev_hash>
 *
 * The content hash is recomputed from the content by the receiver
 * (snapshotContentHash), so one signature covers every kill switch, route,
 * rule and model field; `prev_hash` is the content hash of version - 1
 * (GENESIS_PREV_HASH for version 1), which chains the versions: a receiver
 * holding version n accepts n + 1 only if it names n's hash.
 *
 * A delta carries the signature of the snapshot it produces
 * (snapshot-delta.ts): apply, then verify the result like a full snapshot.
 */
import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { AtpError, defineErrors } from '@mercato/platform/errors';
import { ED25519_SIGNATURE_BYTES, publicKeyId } from './bundle-signature.js';
import type { ControlSnapshot } from './control-snapshot.js';
import { snapshotContentHash } from './snapshot-content.js';

export const SNAPSHOT_SIGNATURE_CONTEXT = 'atp.control-snapshot.sig.v1';
/** prev_hash of version 1: there is no previous version. */
export const GENESIS_PREV_HASH = 'genesis';
/**
 * Largest forward step from a held version a receiver accepts. Versions
 * count real changes (one per accepted change that altered the content);
 * a million is years of changes, while 2^53 - 1 (a forged "poison"
 * version that would make every later real snapshot look stale) is not.
 */
export const MAX_VERSION_JUMP = 1_000_000;
/** Largest version at all (first contact, nothing held): 2^40 is ~35 years at a thousand changes a second. */
export const MAX_SNAPSHOT_VERSION = 2 ** 40;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Why a snapshot was refused. The codes label the receiver's counters and
 * logs; none is retriable as is (the same bytes stay refused), the
 * receiver keeps its last good snapshot. SNAPSHOT_STALE has the same code
 * and statuses as the sidecar's CONTROL_ERR.SNAPSHOT_STALE.
 */
export const SNAPSHOT_TRUST_ERR = defineErrors({
  /** No signature or no chain link (prev_hash): made by no control plane that signs. */
  SNAPSHOT_UNSIGNED: { code: 'ATP_ERR_SNAPSHOT_UNSIGNED', retriable: false, httpStatus: 422, grpcStatus: 9 },
  /** The signature is malformed or made by no trusted key. */
  SNAPSHOT_SIGNATURE_INVALID: {
    code: 'ATP_ERR_SNAPSHOT_SIGNATURE_INVALID',
    retriable: false,
    httpStatus: 422,
    grpcStatus: 9,
  },
  /** The content does not hash to the announced content_hash (edited after signing, or corrupted). */
  SNAPSHOT_HASH_MISMATCH: {
    code: 'ATP_ERR_SNAPSHOT_HASH_MISMATCH',
    retriable: false,
    httpStatus: 422,
    grpcStatus: 9,
  },
  /** Same version as held with another hash, or the next version not chained to the held one. */
  SNAPSHOT_FORK: { code: 'ATP_ERR_SNAPSHOT_FORK', retriable: false, httpStatus: 409, grpcStatus: 9 },
  /** A version absurdly far ahead of the held one (or of any real control plane). */
  SNAPSHOT_VERSION_JUMP: {
    code: 'ATP_ERR_SNAPSHOT_VERSION_JUMP',
    retriable: false,
    httpStatus: 422,
    grpcStatus: 9,
  },
  /** Older than the held version: versions only move forward. */
  SNAPSHOT_STALE: { code: 'ATP_ERR_SNAPSHOT_STALE', retriable: false, httpStatus: 409, grpcStatus: 9 },
});

/** The exact bytes a snapshot signature covers. */
export function snapshotSignaturePayload(version: number, contentHash: string, prevHash: string): Buffer {
  return Buffer.from(`${SNAPSHOT_SIGNATURE_CONTEXT}\n${version}\n${contentHash}\n${prevHash}`, 'utf8');
}

/**
 * The same snapshot signed with `privateKey` (ed25519). `prevHash` must
 * already be set (the publisher sets it); `keyId` defaults to the id of
 * the key's public half.
 */
export function signSnapshot(s: ControlSnapshot, privateKey: KeyObject, keyId?: string): ControlSnapshot {
  if (s.prevHash === undefined) throw new Error(`snapshot ${s.version} has no prev_hash to sign`);
  const id = keyId ?? publicKeyId(createPublicKey(privateKey));
  const value = sign(null, snapshotSignaturePayload(s.version, s.contentHash, s.prevHash), privateKey);
  return { ...s, signature: { keyId: id, value: value.toString('base64') } };
}

export interface SnapshotTrustOptions {
  /**
   * The snapshot the receiver holds (its last good one), or null. With it:
   * older is STALE, same version with another hash is a FORK, version + 1
   * must name its hash as prev_hash, and at most `maxVersionJump` ahead.
   * A held version 0 (the embedded default) counts as nothing held.
   */
  held?: ControlSnapshot | null;
  maxVersionJump?: number;
}

export interface VerifiedSnapshot {
  /** Id of the trusted key that signed it (ed25519:<16 hex>). */
  keyId: string;
  /** True when it is the held snapshot again (same version, same hash): nothing to apply. */
  same: boolean;
}

/**
 * The one check a receiver runs on a snapshot before applying or
 * persisting it, and on the persisted file before using it: signature by a
 * trusted key, content hash recomputed, version bounded, and chained to the
 * held snapshot. Throws an AtpError with a SNAPSHOT_TRUST_ERR spec naming
 * the field; returns the signing key's id.
 */
export function verifySnapshot(
  s: ControlSnapshot,
  trustedKeys: readonly KeyObject[],
  opts: SnapshotTrustOptions = {},
): VerifiedSnapshot {
  const E = SNAPSHOT_TRUST_ERR;
  if (!Number.isSafeInteger(s.version) || s.version < 1 || s.version > MAX_SNAPSHOT_VERSION) {
    throw new AtpError(
      E.SNAPSHOT_VERSION_JUMP,
      `snapshot version ${s.version} is outside 1..${MAX_SNAPSHOT_VERSION}`,
      'version',
    );
  }
  if (s.signature === undefined) {
    throw new AtpError(E.SNAPSHOT_UNSIGNED, `snapshot ${s.version} carries no signature`, 'signature');
  }
  if (s.prevHash === undefined) {
    throw new AtpError(E.SNAPSHOT_UNSIGNED, `snapshot ${s.version} carries no prev_hash`, 'prev_hash');
  }
  if ((s.version === 1) !== (s.prevHash === GENESIS_PREV_HASH)) {
    throw new AtpError(
      E.SNAPSHOT_FORK,
      `snapshot ${s.version} has prev_hash ${s.prevHash}: only version 1 starts the chain (${GENESIS_PREV_HASH})`,
      'prev_hash',
    );
  }
  const actual = snapshotContentHash(s);
  if (actual !== s.contentHash) {
    throw new AtpError(
      E.SNAPSHOT_HASH_MISMATCH,
      `snapshot ${s.version}: content hashes to ${actual}, announced ${s.contentHash}`,
      'content_hash',
    );
  }
  const keyId = verifySignature(s, trustedKeys);
  const held = opts.held ?? null;
  if (held === null || held.version < 1) return { keyId, same: false };
  if (s.version < held.version) {
    throw new AtpError(
      E.SNAPSHOT_STALE,
      `snapshot ${s.version} is older than the held ${held.version}`,
      'version',
    );
  }
  if (s.version === held.version) {
    if (s.contentHash !== held.contentHash) {
      throw new AtpError(
        E.SNAPSHOT_FORK,
        `snapshot ${s.version} has content ${s.contentHash}, the held ${held.version} has ${held.contentHash}: one version, two contents`,
        'content_hash',
      );
    }
    return { keyId, same: true };
  }
  if (s.version === held.version + 1 && s.prevHash !== held.contentHash) {
    throw new AtpError(
      E.SNAPSHOT_FORK,
      `snapshot ${s.version} follows ${s.prevHash}, not the held ${held.version} (${held.contentHash})`,
      'prev_hash',
    );
  }
  const maxJump = opts.maxVersionJump ?? MAX_VERSION_JUMP;
  if (s.version - held.version > maxJump) {
    throw new AtpError(
      E.SNAPSHOT_VERSION_JUMP,
      `snapshot ${s.version} is ${s.version - held.version} versions ahead of the held ${held.version} (at most ${maxJump})`,
      'version',
    );
  }
  return { keyId, same: false };
}

function verifySignature(s: ControlSnapshot, trustedKeys: readonly KeyObject[]): string {
  const E = SNAPSHOT_TRUST_ERR;
  const sig = s.signature;
  if (sig === undefined || s.prevHash === undefined) {
    throw new AtpError(E.SNAPSHOT_UNSIGNED, `snapshot ${s.version} is not signed`, 'signature');
  }
  const raw = BASE64_RE.test(sig.value) ? Buffer.from(sig.value, 'base64') : null;
  if (raw === null || raw.length !== ED25519_SIGNATURE_BYTES) {
    throw new AtpError(
      E.SNAPSHOT_SIGNATURE_INVALID,
      `snapshot ${s.version}: signature is not base64 of a 64-byte ed25519 signature`,
      'signature.value',
    );
  }
  if (trustedKeys.length === 0) {
    throw new AtpError(
      E.SNAPSHOT_SIGNATURE_INVALID,
      `snapshot ${s.version}: no trusted snapshot signing key is configured`,
      'signature',
    );
  }
  const payload = snapshotSignaturePayload(s.version, s.contentHash, s.prevHash);
  for (const key of trustedKeys) {
    if (verify(null, payload, key, raw)) return publicKeyId(key);
  }
  throw new AtpError(
    E.SNAPSHOT_SIGNATURE_INVALID,
    `snapshot ${s.version}: signature (key ${sig.keyId.slice(0, 64)}) does not verify against any of the ${trustedKeys.length} trusted key(s)`,
    'signature',
  );
}
