/**
 * The rules' rows inside a store transaction: compliance holds per SKU
 * (one region, or every region stored as region '') and seller
 * constraints per node (the whole constraint as JSON: `set` replaces it).
 */
import type { SellerConstraint } from '@mercato/proto/v1/control-snapshot';
import type { SqlTx } from './sql-database.js';

/** holds.region is part of the primary key, so "every region" is stored as ''. */
const EVERY_REGION = '';

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

export class RuleQueries {
  constructor(private readonly sql: SqlTx) {}

  async holds(): Promise<HoldRow[]> {
    const rows = await this.sql.all<Record<string, unknown>>(
      'SELECT sku, region, reason, set_by, set_at_ms FROM holds ORDER BY sku, region',
    );
    return rows.map((r) => ({
      sku: String(r.sku),
      region: r.region === EVERY_REGION ? null : String(r.region),
      reason: String(r.reason),
      setBy: String(r.set_by),
      setAtMs: Number(r.set_at_ms),
    }));
  }

  async upsertHold(h: HoldRow): Promise<void> {
    await this.sql.run(
      `INSERT INTO holds (sku, region, reason, set_by, set_at_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (sku, region) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by, set_at_ms = excluded.set_at_ms`,
      [h.sku, h.region ?? EVERY_REGION, h.reason, h.setBy, h.setAtMs],
    );
  }

  /** False when no such hold was set. */
  async deleteHold(sku: string, region: string | null): Promise<boolean> {
    return (
      (await this.sql.run('DELETE FROM holds WHERE sku = ? AND region = ?', [sku, region ?? EVERY_REGION])) >
      0
    );
  }

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

  /** False when the node had no constraint. */
  async deleteSeller(nodeId: string): Promise<boolean> {
    return (await this.sql.run('DELETE FROM sellers WHERE node_id = ?', [nodeId])) > 0;
  }
}
