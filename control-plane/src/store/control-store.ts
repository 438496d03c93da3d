/**
 * The control plane's store: every query, written once for both dialects
 * over SqlDatabase (`?` placeholders, ON CONFLICT upserts, no
 * dialect-specific functions). `write(fn)` is the only way to change
 * anything: one serialized transaction in which a change service mutates
 * the write model, publishes the next snapshot and appends the audit
 * record, so the three can never disagree.
 */
import type { SellerConstraint } from '@mercato/proto/v1/control-snapshot';
import type { Mode } from '@mercato/proto/v1/decision';
import type { Role } from '../auth/roles.js';
import { SCHEMA_VERSION, schemaDdl } from './schema.js';
import type { SqlDatabase, SqlTx } from './sql-database.js';

/** Seeded once, so a new control plane publishes what a sidecar without one does (defaultControlSnapshot). */
export const SEED_ROUTES: readonly { prefix: string; mode: Mode; rolloutPct: number }[] = [
  { prefix: '/checkout', mode: 'enforce', rolloutPct: 100 },
];
export const SYSTEM_ACTOR = 'system';

export interface KillSwitchRow {
  scope: string;
  /** '' for global. */
  target: string;
  reason: string;
  setBy: string;
  setAtMs: number;
}

export interface RouteRow {
  prefix: string;
  mode: Mode;
  rolloutPct: number;
  updatedBy: string;
  updatedAtMs: number;
}

export interface HoldRow {
  sku: string;
  /** null = every region. */
  region: string | null;
  reason: string;
  setBy: string;
  setAtMs: number;
}

export interface SellerRow {
  constraint: SellerConstraint;
  updatedBy: string;
  updatedAtMs: number;
}

export interface ModelRow {
  version: string;
  modelFile: string;
  modelSha256: string;
  keyId: string | null;
  sizeBytes: number;
  pushedBy: string;
  pushedAtMs: number;
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

export interface SnapshotRow {
  version: number;
  contentHash: string;
  /** The snapshot's JSON form (controlSnapshotToJson), exactly as served. */
  body: string;
  createdAtMs: number;
}

export type AuditOutcome = 'accepted' | 'refused';

export interface AuditEntry {
  atMs: number;
  actor: string;
  role: Role | null;
  action: string;
  target: string;
  reason: string | null;
  outcome: AuditOutcome;
  code: string | null;
  message: string | null;
  detail: Record<string, unknown>;
  snapshotVersion: number | null;
}

export interface AuditRow extends AuditEntry {
  id: number;
}

export interface AuditQuery {
  limit: number;
  /** Only entries with id < beforeId (paging backwards). */
  beforeId?: number;
  actor?: string;
  action?: string;
  outcome?: AuditOutcome;
}

export interface TokenRow {
  name: string;
  tokenHash: string;
  role: Role;
  createdBy: string;
  createdAtMs: number;
  revokedAtMs: number | null;
}

/** Domain queries inside one transaction. */
export class StoreTx {
  constructor(private readonly sql: SqlTx) {}

  // --- kill switches -------------------------------------------------------
  async killSwitches(): Promise<KillSwitchRow[]> {
    const rows = await this.sql.all<Record<string, unknown>>(
      'SELECT scope, target, reason, set_by, set_at_ms FROM kill_switches ORDER BY scope, target',
    );
    return rows.map((r) => ({
      scope: String(r.scope),
      target: String(r.target),
      reason: String(r.reason),
      setBy: String(r.set_by),
      setAtMs: Number(r.set_at_ms),
    }));
  }

  async upsertKillSwitch(k: KillSwitchRow): Promise<void> {
    await this.sql.run(
      `INSERT INTO kill_switches (scope, target, reason, set_by, set_at_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (scope, target) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by, set_at_ms = excluded.set_at_ms`,
      [k.scope, k.target, k.reason, k.setBy, k.setAtMs],
    );
  }

  async deleteKillSwitch(scope: string, target: string): Promise<boolean> {
    return (
      (await this.sql.run('DELETE FROM kill_switches WHERE scope = ? AND target = ?', [scope, target])) > 0
    );
  }

  // --- routes --------------------------------------------------------------
  async routes(): Promise<RouteRow[]> {
    const rows = await this.sql.all<Record<string, unknown>>(
      'SELECT prefix, mode, rollout_pct, updated_by, updated_at_ms FROM routes ORDER BY prefix',
    );
    return rows.map((r) => ({
      prefix: String(r.prefix),
      mode: String(r.mode) as Mode,
      rolloutPct: Number(r.rollout_pct),
      updatedBy: String(r.updated_by),
      updatedAtMs: Number(r.updated_at_ms),
    }));
  }

  async route(prefix: string): Promise<RouteRow | undefined> {
    return (await this.routes()).find((r) => r.prefix === prefix);
  }

  async upsertRoute(r: RouteRow): Promise<void> {
    await this.sql.run(
      `INSERT INTO routes (prefix, mode, rollout_pct, updated_by, updated_at_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (prefix) DO UPDATE SET mode = excluded.mode, rollout_pct = excluded.rollout_pct,
         updated_by = excluded.updated_by, updated_at_ms = excluded.updated_at_ms`,
      [r.prefix, r.mode, r.rolloutPct, r.updatedBy, r.updatedAtMs],
    );
  }

  // --- holds ---------------------------------------------------------------
  async holds(): Promise<HoldRow[]> {
    const rows = await this.sql.all<Record<string, unknown>>(
      'SELECT sku, region, reason, set_by, set_at_ms FROM holds ORDER BY sku, region',
    );
    return rows.map((r) => ({
      sku: String(r.sku),
      region: r.region === '' ? null : String(r.region),
      reason: String(r.reason),
      setBy: String(r.set_by),
      setAtMs: Number(r.set_at_ms),
    }));
  }

  async upsertHold(h: HoldRow): Promise<void> {
    await this.sql.run(
      `INSERT INTO holds (sku, region, reason, set_by, set_at_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (sku, region) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by, set_at_ms = excluded.set_at_ms`,
      [h.sku, h.region ?? '', h.reason, h.setBy, h.setAtMs],
    );
  }

  async deleteHold(sku: string, region: string | null): Promise<boolean> {
    return (await this.sql.run('DELETE FROM holds WHERE sku = ? AND region = ?', [sku, region ?? ''])) > 0;
  }

  // --- sellers -------------------------------------------------------------
  async sellers(): Promise<SellerRow[]> {
    const rows = await this.sql.all<Record<string, unknown>>(
      'SELECT node_id, constraint_json, updated_by, updated_at_ms FROM sellers ORDER BY node_id',
    );
    return rows.map((r) => ({
      constraint: JSON.parse(String(r.constraint_json)) as SellerConstraint,
      updatedBy: String(r.updated_by),
      updatedAtMs: Number(r.updated_at_ms),
    }));
  }

  async upsertSeller(s: SellerRow): Promise<void> {
    await this.sql.run(
      `INSERT INTO sellers (node_id, constraint_json, updated_by, updated_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (node_id) DO UPDATE SET constraint_json = excluded.constraint_json,
         updated_by = excluded.updated_by, updated_at_ms = excluded.updated_at_ms`,
      [s.constraint.nodeId, JSON.stringify(s.constraint), s.updatedBy, s.updatedAtMs],
    );
  }

  async deleteSeller(nodeId: string): Promise<boolean> {
    return (await this.sql.run('DELETE FROM sellers WHERE node_id = ?', [nodeId])) > 0;
  }

  // --- models --------------------------------------------------------------
  async models(): Promise<ModelRow[]> {
    const rows = await this.sql.all<Record<string, unknown>>(
      `SELECT version, model_file, model_sha256, key_id, size_bytes, pushed_by, pushed_at_ms
       FROM models ORDER BY pushed_at_ms, version`,
    );
    return rows.map(modelRow);
  }

  async model(version: string): Promise<ModelRow | undefined> {
    const r = await this.sql.get<Record<string, unknown>>(
      `SELECT version, model_file, model_sha256, key_id, size_bytes, pushed_by, pushed_at_ms
       FROM models WHERE version = ?`,
      [version],
    );
    return r === undefined ? undefined : modelRow(r);
  }

  async modelFiles(version: string): Promise<ModelFiles | undefined> {
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

  async insertModel(m: ModelRow, files: ModelFiles): Promise<void> {
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

  async rollout(): Promise<RolloutRow> {
    const r = await this.sql.get<Record<string, unknown>>(
      'SELECT staged_version, staged_pct_json FROM model_rollout WHERE id = 1',
    );
    if (r === undefined) return { stagedVersion: null, stagedPctByRegion: {} };
    return {
      stagedVersion: r.staged_version === null ? null : String(r.staged_version),
      stagedPctByRegion: JSON.parse(String(r.staged_pct_json)) as Record<string, number>,
    };
  }

  async setRollout(r: RolloutRow, by: string, atMs: number): Promise<void> {
    await this.sql.run(
      `INSERT INTO model_rollout (id, staged_version, staged_pct_json, updated_by, updated_at_ms) VALUES (1, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET staged_version = excluded.staged_version, staged_pct_json = excluded.staged_pct_json,
         updated_by = excluded.updated_by, updated_at_ms = excluded.updated_at_ms`,
      [r.stagedVersion, JSON.stringify(r.stagedPctByRegion), by, atMs],
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

  // --- snapshots (read model) ---------------------------------------------
  async latestSnapshot(): Promise<SnapshotRow | undefined> {
    const r = await this.sql.get<Record<string, unknown>>(
      'SELECT version, content_hash, body, created_at_ms FROM snapshots ORDER BY version DESC LIMIT 1',
    );
    return r === undefined ? undefined : snapshotRow(r);
  }

  async latestVersion(): Promise<number> {
    const r = await this.sql.get<{ v: number | null }>('SELECT MAX(version) AS v FROM snapshots');
    return r?.v === null || r?.v === undefined ? 0 : Number(r.v);
  }

  async snapshot(version: number): Promise<SnapshotRow | undefined> {
    const r = await this.sql.get<Record<string, unknown>>(
      'SELECT version, content_hash, body, created_at_ms FROM snapshots WHERE version = ?',
      [version],
    );
    return r === undefined ? undefined : snapshotRow(r);
  }

  async insertSnapshot(s: SnapshotRow): Promise<void> {
    await this.sql.run(
      'INSERT INTO snapshots (version, content_hash, body, created_at_ms) VALUES (?, ?, ?, ?)',
      [s.version, s.contentHash, s.body, s.createdAtMs],
    );
  }

  /** Drops snapshots older than `keep` versions behind `latest` (a resume from there gets a full snapshot). */
  async pruneSnapshots(latest: number, keep: number): Promise<void> {
    await this.sql.run('DELETE FROM snapshots WHERE version <= ?', [latest - keep]);
  }

  // --- audit ---------------------------------------------------------------
  async appendAudit(e: AuditEntry): Promise<void> {
    await this.sql.run(
      `INSERT INTO audit_log (at_ms, actor, role, action, target, reason, outcome, code, message, detail, snapshot_version)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        e.atMs,
        e.actor,
        e.role,
        e.action,
        e.target,
        e.reason,
        e.outcome,
        e.code,
        e.message,
        JSON.stringify(e.detail),
        e.snapshotVersion,
      ],
    );
  }

  /** Newest first. */
  async audit(q: AuditQuery): Promise<AuditRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.beforeId !== undefined) {
      where.push('id < ?');
      params.push(q.beforeId);
    }
    if (q.actor !== undefined) {
      where.push('actor = ?');
      params.push(q.actor);
    }
    if (q.action !== undefined) {
      where.push('action = ?');
      params.push(q.action);
    }
    if (q.outcome !== undefined) {
      where.push('outcome = ?');
      params.push(q.outcome);
    }
    params.push(q.limit);
    const rows = await this.sql.all<Record<string, unknown>>(
      `SELECT id, at_ms, actor, role, action, target, reason, outcome, code, message, detail, snapshot_version
       FROM audit_log ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY id DESC LIMIT ?`,
      params,
    );
    return rows.map((r) => ({
      id: Number(r.id),
      atMs: Number(r.at_ms),
      actor: String(r.actor),
      role: r.role === null ? null : (String(r.role) as Role),
      action: String(r.action),
      target: String(r.target),
      reason: r.reason === null ? null : String(r.reason),
      outcome: String(r.outcome) as AuditOutcome,
      code: r.code === null ? null : String(r.code),
      message: r.message === null ? null : String(r.message),
      detail: JSON.parse(String(r.detail)) as Record<string, unknown>,
      snapshotVersion: r.snapshot_version === null ? null : Number(r.snapshot_version),
    }));
  }

  // --- tokens --------------------------------------------------------------
  async tokenByHash(hash: string): Promise<TokenRow | undefined> {
    const r = await this.sql.get<Record<string, unknown>>(
      'SELECT name, token_hash, role, created_by, created_at_ms, revoked_at_ms FROM tokens WHERE token_hash = ?',
      [hash],
    );
    return r === undefined ? undefined : tokenRow(r);
  }

  async tokens(): Promise<TokenRow[]> {
    const rows = await this.sql.all<Record<string, unknown>>(
      'SELECT name, token_hash, role, created_by, created_at_ms, revoked_at_ms FROM tokens ORDER BY name',
    );
    return rows.map(tokenRow);
  }

  async insertToken(t: TokenRow): Promise<void> {
    await this.sql.run(
      'INSERT INTO tokens (name, token_hash, role, created_by, created_at_ms, revoked_at_ms) VALUES (?, ?, ?, ?, ?, ?)',
      [t.name, t.tokenHash, t.role, t.createdBy, t.createdAtMs, t.revokedAtMs],
    );
  }

  async revokeToken(name: string, atMs: number): Promise<boolean> {
    return (
      (await this.sql.run('UPDATE tokens SET revoked_at_ms = ? WHERE name = ? AND revoked_at_ms IS NULL', [
        atMs,
        name,
      ])) > 0
    );
  }

  // --- schema --------------------------------------------------------------
  /** Records the schema version and seeds the write model the first time. */
  async migrate(nowMs: number): Promise<void> {
    const done = await this.sql.get('SELECT version FROM schema_migrations WHERE version = ?', [
      SCHEMA_VERSION,
    ]);
    if (done !== undefined) return;
    for (const r of SEED_ROUTES) {
      await this.upsertRoute({ ...r, updatedBy: SYSTEM_ACTOR, updatedAtMs: nowMs });
    }
    await this.setRollout({ stagedVersion: null, stagedPctByRegion: {} }, SYSTEM_ACTOR, nowMs);
    await this.sql.run('INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?, ?)', [
      SCHEMA_VERSION,
      nowMs,
    ]);
  }
}

/** The store: the database plus the domain queries. */
export class ControlStore {
  constructor(readonly db: SqlDatabase) {}

  get location(): string {
    return this.db.location;
  }

  async open(nowMs: number = Date.now()): Promise<void> {
    await this.db.open(schemaDdl);
    await this.db.write((sql) => new StoreTx(sql).migrate(nowMs));
  }

  write<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.write((sql) => fn(new StoreTx(sql)));
  }

  read<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.read((sql) => fn(new StoreTx(sql)));
  }

  close(): Promise<void> {
    return this.db.close();
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
  };
}

function snapshotRow(r: Record<string, unknown>): SnapshotRow {
  return {
    version: Number(r.version),
    contentHash: String(r.content_hash),
    body: String(r.body),
    createdAtMs: Number(r.created_at_ms),
  };
}

function tokenRow(r: Record<string, unknown>): TokenRow {
  return {
    name: String(r.name),
    tokenHash: String(r.token_hash),
    role: String(r.role) as Role,
    createdBy: String(r.created_by),
    createdAtMs: Number(r.created_at_ms),
    revokedAtMs: r.revoked_at_ms === null ? null : Number(r.revoked_at_ms),
  };
}
