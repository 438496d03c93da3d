/**
 * The one check the sidecar runs on every control snapshot before it is
 * applied or persisted (issue 16 finding 1: a forged snapshot with version
 * 2^53-1 and a global kill switch was accepted and persisted):
 *
 * - signed: `verifySnapshot` (proto/v1/snapshot-signature.ts) with the
 *   control plane's public key(s) (`serve --control-snapshot-key`):
 *   signature, recomputed content hash, version bound, chain to the held
 *   snapshot (same version + other hash = fork, next version must name the
 *   held hash);
 * - unsigned (`--control-insecure-unsigned-snapshots`, development only):
 *   no signature, but the same version rules (never older, no fork, no
 *   absurd jump), so even then one message cannot poison the version.
 *
 * Throws an AtpError (SNAPSHOT_TRUST_ERR / CONTROL_ERR) naming the field;
 * returns whether the snapshot is the held one again (nothing to apply).
 */
import type { KeyObject } from 'node:crypto';
import { AtpError } from '@mercato/platform/errors';
import type { ControlSnapshot } from '@mercato/proto/v1/control-snapshot';
import { snapshotContentHash } from '@mercato/proto/v1/snapshot-content';
import {
  MAX_SNAPSHOT_VERSION,
  MAX_VERSION_JUMP,
  SNAPSHOT_TRUST_ERR,
  verifySnapshot,
} from '@mercato/proto/v1/snapshot-signature';
import { CONTROL_ERR } from './control-errors.js';

export interface SnapshotVerdict {
  /** The held snapshot again (same version and hash): nothing to apply, only to acknowledge. */
  same: boolean;
  /** Id of the key that signed it; null in unsigned mode. */
  keyId: string | null;
}

/** `keys` null = unsigned snapshots accepted (an explicit insecure flag said so). */
export function checkSnapshot(
  s: ControlSnapshot,
  held: ControlSnapshot | null,
  keys: readonly KeyObject[] | null,
): SnapshotVerdict {
  if (keys !== null) {
    const v = verifySnapshot(s, keys, { held });
    return { same: v.same, keyId: v.keyId };
  }
  return { same: checkUnsigned(s, held), keyId: null };
}

function checkUnsigned(s: ControlSnapshot, held: ControlSnapshot | null): boolean {
  const E = SNAPSHOT_TRUST_ERR;
  if (!Number.isSafeInteger(s.version) || s.version < 1 || s.version > MAX_SNAPSHOT_VERSION) {
    throw new AtpError(E.SNAPSHOT_VERSION_JUMP, `snapshot version ${s.version} is out of range`, 'version');
  }
  const hash = snapshotContentHash(s);
  if (hash !== s.contentHash) {
    throw new AtpError(
      CONTROL_ERR.SNAPSHOT_INVALID,
      `snapshot ${s.version}: content hashes to ${hash}, announced ${s.contentHash}`,
      'content_hash',
    );
  }
  if (held === null || held.version < 1) return false;
  if (s.version < held.version) {
    throw new AtpError(
      E.SNAPSHOT_STALE,
      `snapshot ${s.version} is older than the held ${held.version}; kept ${held.version} (a restored control plane database? see control-plane/README.md)`,
      'version',
    );
  }
  if (s.version === held.version) {
    if (s.contentHash === held.contentHash) return true;
    throw new AtpError(
      E.SNAPSHOT_FORK,
      `snapshot ${s.version} has content ${s.contentHash}, the held one ${held.contentHash}`,
      'content_hash',
    );
  }
  if (s.version - held.version > MAX_VERSION_JUMP) {
    throw new AtpError(
      E.SNAPSHOT_VERSION_JUMP,
      `snapshot ${s.version} is ${s.version - held.version} versions ahead of the held ${held.version}`,
      'version',
    );
  }
  return false;
}
