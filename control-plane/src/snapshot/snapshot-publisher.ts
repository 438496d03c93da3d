/**
 * Publishes the next snapshot inside a write transaction: builds the read
 * model, and when its content hash differs from the latest snapshot's,
 * stores it as version latest + 1. An unchanged content (setting a kill
 * switch that is already set) publishes nothing: versions count real
 * changes, so a sidecar never reloads for nothing.
 */
import {
  type ControlSnapshot,
  controlSnapshotToJson,
  parseControlSnapshot,
} from '@mercato/proto/v1/control-snapshot';
import { snapshotContentHash } from '@mercato/proto/v1/snapshot-content';
import type { SnapshotRow, StoreTx } from '../store/control-store.js';
import { buildSnapshot } from './build-snapshot.js';

/** Snapshots kept for resuming watchers with a delta; older resumes get a full snapshot. */
export const SNAPSHOT_RETENTION = 1_000;

export interface Published {
  snapshot: ControlSnapshot;
  /** False when the content equals the latest snapshot's (no new version). */
  changed: boolean;
}

export async function publishSnapshot(
  tx: StoreTx,
  nowMs: number,
  retention = SNAPSHOT_RETENTION,
): Promise<Published> {
  const built = await buildSnapshot(tx);
  const contentHash = snapshotContentHash(built);
  const latest = await tx.latestSnapshot();
  if (latest !== undefined && latest.contentHash === contentHash) {
    return { snapshot: snapshotFromRow(latest), changed: false };
  }
  const snapshot: ControlSnapshot = { ...built, version: (latest?.version ?? 0) + 1, contentHash };
  await tx.insertSnapshot({
    version: snapshot.version,
    contentHash,
    body: JSON.stringify(controlSnapshotToJson(snapshot)),
    createdAtMs: nowMs,
  });
  if (snapshot.version > retention) await tx.pruneSnapshots(snapshot.version, retention);
  return { snapshot, changed: true };
}

/** Stored rows were validated when written; parsing again keeps one code path from bytes to value. */
export function snapshotFromRow(row: SnapshotRow): ControlSnapshot {
  return parseControlSnapshot(JSON.parse(row.body));
}
