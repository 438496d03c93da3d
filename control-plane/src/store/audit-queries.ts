/**
 * The audit log inside a store transaction: append-only, one entry per
 * change request, accepted or refused. An accepted change's entry is
 * appended in the same transaction as the change and its snapshot, so the
 * record can never disagree with what was published.
 */
import type { Role } from '../auth/roles.js';
import type { SqlTx } from './sql-database.js';

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

/** One page of an export: oldest first, from `afterId` on, within [sinceMs, untilMs). */
export interface AuditExportQuery {
  sinceMs: number;
  untilMs: number;
  afterId: number;
  limit: number;
}

export interface AuditPruned {
  byAge: number;
  byCount: number;
}

const AUDIT_COLUMNS =
  'id, at_ms, actor, role, action, target, reason, outcome, code, message, detail, snapshot_version';

export class AuditQueries {
  constructor(private readonly sql: SqlTx) {}

  async append(e: AuditEntry): Promise<void> {
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
  async query(q: AuditQuery): Promise<AuditRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const filter = (clause: string, value: unknown) => {
      if (value === undefined) return;
      where.push(clause);
      params.push(value);
    };
    filter('id < ?', q.beforeId);
    filter('actor = ?', q.actor);
    filter('action = ?', q.action);
    filter('outcome = ?', q.outcome);
    params.push(q.limit);
    const rows = await this.sql.all<Record<string, unknown>>(
      `SELECT ${AUDIT_COLUMNS}
       FROM audit_log ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY id DESC LIMIT ?`,
      params,
    );
    return rows.map(auditRow);
  }

  /** Oldest first (ids grow with time): what `audit export` streams page by page. */
  async exportPage(q: AuditExportQuery): Promise<AuditRow[]> {
    const rows = await this.sql.all<Record<string, unknown>>(
      `SELECT ${AUDIT_COLUMNS} FROM audit_log
       WHERE id > ? AND at_ms >= ? AND at_ms < ? ORDER BY id LIMIT ?`,
      [q.afterId, q.sinceMs, q.untilMs, q.limit],
    );
    return rows.map(auditRow);
  }

  async count(): Promise<number> {
    const r = await this.sql.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM audit_log');
    return Number(r?.n ?? 0);
  }

  /** Retention: drops entries older than `olderThanMs`, then the oldest beyond `maxRows`. */
  async prune(olderThanMs: number, maxRows: number): Promise<AuditPruned> {
    const byAge = await this.sql.run('DELETE FROM audit_log WHERE at_ms < ?', [olderThanMs]);
    const cut = await this.sql.get<{ id: number | string | null }>(
      'SELECT id FROM audit_log ORDER BY id DESC LIMIT 1 OFFSET ?',
      [maxRows],
    );
    const byCount =
      cut === undefined || cut.id === null
        ? 0
        : await this.sql.run('DELETE FROM audit_log WHERE id <= ?', [Number(cut.id)]);
    return { byAge, byCount };
  }
}

function auditRow(r: Record<string, unknown>): AuditRow {
  return {
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
  };
}
