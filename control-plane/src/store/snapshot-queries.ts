/**
 * The read model inside a store transaction: published snapshots,
 * immutable and numbered. Versions are assigned by the publisher inside a
 * serialized write transaction (latest + 1), so they never gap or repeat.
 */
import type { SqlTx } from './sql-database.js';

export interface SnapshotRow {
  version: number;
  contentHash: string;
  /** The snapshot's JSON form (controlSnapshotToJson), exactly as served. */
  body: string;
  createdAtMs: number;
}

const SNAPSHOT_COLUMNS = 'version, content_hash, body, created_at_ms';

export class SnapshotQueries {
  constructor(private readonly sql: SqlTx) {}

  async latest(): Promise<SnapshotRow | undefined> {
    const r = await this.sql.get<Record<string, unknown>>(
      `SELECT ${SNAPSHOT_COLUMNS} FROM snapshots ORDER BY version DESC LIMIT 1`,
    );
    return r === undefined ? undefined : snapshotRow(r);
  }

  /** 0 on a store that never published. */
  async latestVersion(): Promise<number> {
    const r = await this.sql.get<{ v: number | null }>('SELECT MAX(version) AS v FROM snapshots');
    return r?.v === null || r?.v === undefined ? 0 : Number(r.v);
  }

  /** One version; undefined when pruned or never published. */
  async at(version: number): Promise<SnapshotRow | undefined> {
    const r = await this.sql.get<Record<string, unknown>>(
      `SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE version = ?`,
      [version],
    );
    return r === undefined ? undefined : snapshotRow(r);
  }

  async insert(s: SnapshotRow): Promise<void> {
    await this.sql.run(`INSERT INTO snapshots (${SNAPSHOT_COLUMNS}) VALUES (?, ?, ?, ?)`, [
      s.version,
      s.contentHash,
      s.body,
      s.createdAtMs,
    ]);
  }

  /** Drops snapshots older than `keep` versions behind `latest` (a resume from there gets a full snapshot). */
  async prune(latest: number, keep: number): Promise<void> {
    await this.sql.run('DELETE FROM snapshots WHERE version <= ?', [latest - keep]);
  }
}

function snapshotRow(r: Record<string, unknown>): SnapshotRow {
  return {
    version: Number(r.version),
    contentHash: String(r.content_hash),
    body: String(r.body),
    createdAtMs: Number(r.created_at_ms),
  };
}
