/**
 * Model bundles inside a store transaction: the pushed bundles (their
 * bytes live in the database so every replica can serve them), the staged
 * rollout (one row) and the promotion history (a stack: its top is the
 * active model, the entry below it `previous`).
 */
import type { SqlTx } from './sql-database.js';

export interface ModelRow {
  version: string;
  modelFile: string;
  modelSha256: string;
  keyId: string | null;
  sizeBytes: number;
  pushedBy: string;
  pushedAtMs: number;
  /** When the stored bytes last failed verification (tampered in the database); null: never. */
  integrityFailedAtMs?: number | null;
}

export interface ModelFiles {
  manifest: Buffer;
  signature: Buffer | null;
  model: Buffer;
}

export interface RolloutRow {
  stagedVersion: string | null;
  stagedPctByRegion: Record<string, number>;
}

export interface HistoryRow {
  seq: number;
  version: string;
  promotedBy: string;
  promotedAtMs: number;
}

/** The one model_rollout row's key. */
const ROLLOUT_ROW_ID = 1;
const MODEL_COLUMNS =
  'version, model_file, model_sha256, key_id, size_bytes, pushed_by, pushed_at_ms, integrity_failed_at_ms';

export class ModelQueries {
  constructor(private readonly sql: SqlTx) {}

  /** Pushed models (never their bytes), oldest push first. */
  async list(): Promise<ModelRow[]> {
    const rows = await this.sql.all<Record<string, unknown>>(
      `SELECT ${MODEL_COLUMNS} FROM models ORDER BY pushed_at_ms, version`,
    );
    return rows.map(modelRow);
  }

  async get(version: string): Promise<ModelRow | undefined> {
    const r = await this.sql.get<Record<string, unknown>>(
      `SELECT ${MODEL_COLUMNS} FROM models WHERE version = ?`,
      [version],
    );
    return r === undefined ? undefined : modelRow(r);
  }

  /** The stored bundle bytes, exactly as pushed. */
  async files(version: string): Promise<ModelFiles | undefined> {
    const r = await this.sql.get<{ manifest: Buffer; signature: Buffer | null; model: Buffer }>(
      'SELECT manifest, signature, model FROM models WHERE version = ?',
      [version],
    );
    if (r === undefined) return undefined;
    return {
      manifest: Buffer.from(r.manifest),
      signature: r.signature === null ? null : Buffer.from(r.signature),
      model: Buffer.from(r.model),
    };
  }

  async insert(m: ModelRow, files: ModelFiles): Promise<void> {
    await this.sql.run(
      `INSERT INTO models (version, model_file, model_sha256, key_id, manifest, signature, model, size_bytes, pushed_by, pushed_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        m.version,
        m.modelFile,
        m.modelSha256,
        m.keyId,
        files.manifest,
        files.signature,
        files.model,
        m.sizeBytes,
        m.pushedBy,
        m.pushedAtMs,
      ],
    );
  }

  /** Marks a bundle whose stored bytes failed verification; the first failure time is kept. */
  async markIntegrityFailed(version: string, atMs: number): Promise<boolean> {
    return (
      (await this.sql.run(
        'UPDATE models SET integrity_failed_at_ms = ? WHERE version = ? AND integrity_failed_at_ms IS NULL',
        [atMs, version],
      )) > 0
    );
  }

  async rollout(): Promise<RolloutRow> {
    const r = await this.sql.get<Record<string, unknown>>(
      'SELECT staged_version, staged_pct_json FROM model_rollout WHERE id = ?',
      [ROLLOUT_ROW_ID],
    );
    if (r === undefined) return { stagedVersion: null, stagedPctByRegion: {} };
    return {
      stagedVersion: r.staged_version === null ? null : String(r.staged_version),
      stagedPctByRegion: JSON.parse(String(r.staged_pct_json)) as Record<string, number>,
    };
  }

  async setRollout(r: RolloutRow, by: string, atMs: number): Promise<void> {
    await this.sql.run(
      `INSERT INTO model_rollout (id, staged_version, staged_pct_json, updated_by, updated_at_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET staged_version = excluded.staged_version, staged_pct_json = excluded.staged_pct_json,
         updated_by = excluded.updated_by, updated_at_ms = excluded.updated_at_ms`,
      [ROLLOUT_ROW_ID, r.stagedVersion, JSON.stringify(r.stagedPctByRegion), by, atMs],
    );
  }

  /** Promotions, oldest first; the last one is the active model, the one before it `previous`. */
  async history(): Promise<HistoryRow[]> {
    const rows = await this.sql.all<Record<string, unknown>>(
      'SELECT seq, version, promoted_by, promoted_at_ms FROM model_history ORDER BY seq',
    );
    return rows.map((r) => ({
      seq: Number(r.seq),
      version: String(r.version),
      promotedBy: String(r.promoted_by),
      promotedAtMs: Number(r.promoted_at_ms),
    }));
  }

  async pushHistory(version: string, by: string, atMs: number): Promise<void> {
    await this.sql.run('INSERT INTO model_history (version, promoted_by, promoted_at_ms) VALUES (?, ?, ?)', [
      version,
      by,
      atMs,
    ]);
  }

  async deleteHistory(seq: number): Promise<void> {
    await this.sql.run('DELETE FROM model_history WHERE seq = ?', [seq]);
  }
}

function modelRow(r: Record<string, unknown>): ModelRow {
  return {
    version: String(r.version),
    modelFile: String(r.model_file),
    modelSha256: String(r.model_sha256),
    keyId: r.key_id === null ? null : String(r.key_id),
    sizeBytes: Number(r.size_bytes),
    pushedBy: String(r.pushed_by),
    pushedAtMs: Number(r.pushed_at_ms),
    integrityFailedAtMs:
      r.integrity_failed_at_ms === null || r.integrity_failed_at_ms === undefined
        ? null
        : Number(r.integrity_failed_at_ms),
  };
}
