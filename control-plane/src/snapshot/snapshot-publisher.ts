/**
 * Publishes the next snapshot inside a write transaction: builds the read
 * model, and when its content hash differs from the latest snapshot's,
 * stores it as version latest + 1 with `prev_hash` = the latest's content
 * hash (GENESIS_PREV_HASH for version 1): the chain sidecars check. An
 * unchanged content (setting a kill switch that is already set) publishes
 * nothing: versions count real changes, so a sidecar never reloads for
 * nothing. The one exception: a latest snapshot stored before chaining
 * existed (no prev_hash) is followed by a chained copy of the same content,
 * so every version a sidecar receives can be signed and checked.
 * Signatures are added when snapshots leave the process (WatchHub and the
 * snapshot reads, SnapshotSigner): every replica signs with its key.
 */
import {
  type ControlSnapshot,
  controlSnapshotToJson,
  parseControlSnapshot,
} from '@mercato/proto/v1/control-snapshot';
import { snapshotContentHash } from '@mercato/proto/v1/snapshot-content';
import { GENESIS_PREV_HASH } from '@mercato/proto/v1/snapshot-signature';
import type { StoreTx } from '../store/control-store.js';
import type { SnapshotRow } from '../store/snapshot-queries.js';
import { buildSnapshot } from './build-snapshot.js';

/** Snapshots kept for resuming watchers with a delta; older resumes get a full snapshot. */
export const SNAPSHOT_RETENTION = 1_000;

export interface Published {
  snapshot: ControlSnapshot;
  /** False when the content equals the latest snapshot's (no new version). */
  changed: boolean;
  /** True when this version only chained a stored pre-chain snapshot (same content). */
  chained: boolean;
}

export async function publishSnapshot(
  tx: StoreTx,
  nowMs: number,
  retention = SNAPSHOT_RETENTION,
): Promise<Published> {
  const built = await buildSnapshot(tx);
  const contentHash = snapshotContentHash(built);
  const latest = await tx.snapshots.latest();
  const latestSnapshot = latest === undefined ? undefined : snapshotFromRow(latest);
  const unchained = latestSnapshot !== undefined && latestSnapshot.prevHash === undefined;
  if (latestSnapshot !== undefined && latestSnapshot.contentHash === contentHash && !unchained) {
    return { snapshot: latestSnapshot, changed: false, chained: false };
  }
  const snapshot: ControlSnapshot = {
    ...built,
    version: (latest?.version ?? 0) + 1,
    contentHash,
    prevHash: latest?.contentHash ?? GENESIS_PREV_HASH,
  };
  await tx.snapshots.insert({
    version: snapshot.version,
    contentHash,
    body: JSON.stringify(controlSnapshotToJson(snapshot)),
    createdAtMs: nowMs,
  });
  if (snapshot.version > retention) await tx.snapshots.prune(snapshot.version, retention);
  return { snapshot, changed: true, chained: unchained && latestSnapshot?.contentHash === contentHash };
}

/** Stored rows were validated when written; parsing again keeps one code path from bytes to value. */
export function snapshotFromRow(row: SnapshotRow): ControlSnapshot {
  return parseControlSnapshot(JSON.parse(row.body));
}
