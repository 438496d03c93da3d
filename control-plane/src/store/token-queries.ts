/**
 * Operator tokens inside a store transaction: stored only as their sha256
 * (auth/tokens.ts), looked up by that hash, revoked once and never reused.
 * A token may expire, be bound to one sidecar id (the only identity it may
 * watch as) and carry its own cap on open watch streams.
 */
import type { Role } from '../auth/roles.js';
import type { SqlTx } from './sql-database.js';

export interface TokenRow {
  name: string;
  tokenHash: string;
  role: Role;
  createdBy: string;
  createdAtMs: number;
  revokedAtMs: number | null;
  /** null: never expires. Optional on insert (null). */
  expiresAtMs?: number | null;
  /** The one sidecar id this token may watch as; null: unbound (watches under the token's name). */
  sidecarId?: string | null;
  /** Open watch streams allowed; null: the server's default. */
  maxStreams?: number | null;
}

/** A row as read: every optional field present. */
export type StoredToken = Required<TokenRow>;

export interface RevocationMark {
  revoked: number;
  lastRevokedAtMs: number;
}

const TOKEN_COLUMNS =
  'name, token_hash, role, created_by, created_at_ms, revoked_at_ms, expires_at_ms, sidecar_id, max_streams';

export class TokenQueries {
  constructor(private readonly sql: SqlTx) {}

  async byHash(hash: string): Promise<StoredToken | undefined> {
    const r = await this.sql.get<Record<string, unknown>>(
      `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE token_hash = ?`,
      [hash],
    );
    return r === undefined ? undefined : tokenRow(r);
  }

  /** Every token, revoked ones included, by name. */
  async list(): Promise<StoredToken[]> {
    const rows = await this.sql.all<Record<string, unknown>>(
      `SELECT ${TOKEN_COLUMNS} FROM tokens ORDER BY name`,
    );
    return rows.map(tokenRow);
  }

  async insert(t: TokenRow): Promise<void> {
    await this.sql.run(`INSERT INTO tokens (${TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      t.name,
      t.tokenHash,
      t.role,
      t.createdBy,
      t.createdAtMs,
      t.revokedAtMs,
      t.expiresAtMs ?? null,
      t.sidecarId ?? null,
      t.maxStreams ?? null,
    ]);
  }

  /** Names of revoked tokens (watch servers close their streams). */
  async revokedNames(): Promise<string[]> {
    const rows = await this.sql.all<{ name: string }>(
      'SELECT name FROM tokens WHERE revoked_at_ms IS NOT NULL ORDER BY name',
    );
    return rows.map((r) => String(r.name));
  }

  /** Changes whenever a token is revoked: what a replica polls to learn of revocations made elsewhere. */
  async revocationMark(): Promise<RevocationMark> {
    const r = await this.sql.get<{ n: number | string; m: number | string | null }>(
      'SELECT COUNT(*) AS n, MAX(revoked_at_ms) AS m FROM tokens WHERE revoked_at_ms IS NOT NULL',
    );
    return {
      revoked: Number(r?.n ?? 0),
      lastRevokedAtMs: r?.m === null || r?.m === undefined ? 0 : Number(r.m),
    };
  }

  /** False when there is no such token or it was already revoked. */
  async revoke(name: string, atMs: number): Promise<boolean> {
    return (
      (await this.sql.run('UPDATE tokens SET revoked_at_ms = ? WHERE name = ? AND revoked_at_ms IS NULL', [
        atMs,
        name,
      ])) > 0
    );
  }
}

function tokenRow(r: Record<string, unknown>): StoredToken {
  return {
    name: String(r.name),
    tokenHash: String(r.token_hash),
    role: String(r.role) as Role,
    createdBy: String(r.created_by),
    createdAtMs: Number(r.created_at_ms),
    revokedAtMs: r.revoked_at_ms === null ? null : Number(r.revoked_at_ms),
    expiresAtMs: r.expires_at_ms === null || r.expires_at_ms === undefined ? null : Number(r.expires_at_ms),
    sidecarId: r.sidecar_id === null || r.sidecar_id === undefined ? null : String(r.sidecar_id),
    maxStreams: r.max_streams === null || r.max_streams === undefined ? null : Number(r.max_streams),
  };
}
