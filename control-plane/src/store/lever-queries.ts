/**
 * The levers' rows inside a store transaction: kill switches (global /
 * region / route / sku) and per route its mode and rollout percentage.
 * Written once for both dialects (`?` placeholders, ON CONFLICT upserts).
 */
import type { Mode } from '@mercato/proto/v1/decision';
import type { SqlTx } from './sql-database.js';

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

export class LeverQueries {
  constructor(private readonly sql: SqlTx) {}

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

  /** False when no such switch was set. */
  async deleteKillSwitch(scope: string, target: string): Promise<boolean> {
    return (
      (await this.sql.run('DELETE FROM kill_switches WHERE scope = ? AND target = ?', [scope, target])) > 0
    );
  }

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
}
