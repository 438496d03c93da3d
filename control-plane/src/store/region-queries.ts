/**
 * The region registry's rows inside a store transaction: one row per
 * registry version (the whole registry as canonical JSON, who changed it,
 * when and why), append-only, so every version a sidecar ever received
 * can be read back. The latest row is the registry in force.
 */
import {
  parseRegionRegistry,
  type RegionRegistry,
  regionRegistryToJson,
} from '@mercato/proto/v1/region-registry';
import { canonicalJson } from '@mercato/proto/v1/snapshot-content';
import type { SqlTx } from './sql-database.js';

export interface RegionRegistryRow {
  registry: RegionRegistry;
  changedBy: string;
  changedAtMs: number;
  reason: string;
}

export class RegionQueries {
  constructor(private readonly sql: SqlTx) {}

  /** The registry in force; null only on a store not yet migrated (open() seeds one). */
  async latest(): Promise<RegionRegistry | null> {
    const rows = await this.sql.all<{ body: string }>(
      'SELECT body FROM region_registry ORDER BY version DESC LIMIT 1',
    );
    const row = rows[0];
    return row === undefined ? null : parseRegionRegistry(JSON.parse(row.body));
  }

  /** Newest first. */
  async history(limit: number): Promise<RegionRegistryRow[]> {
    const rows = await this.sql.all<Record<string, unknown>>(
      'SELECT body, changed_by, changed_at_ms, reason FROM region_registry ORDER BY version DESC LIMIT ?',
      [limit],
    );
    return rows.map((r) => ({
      registry: parseRegionRegistry(JSON.parse(String(r.body))),
      changedBy: String(r.changed_by),
      changedAtMs: Number(r.changed_at_ms),
      reason: String(r.reason),
    }));
  }

  async append(
    registry: RegionRegistry,
    changedBy: string,
    changedAtMs: number,
    reason: string,
  ): Promise<void> {
    await this.sql.run(
      'INSERT INTO region_registry (version, body, changed_by, changed_at_ms, reason) VALUES (?, ?, ?, ?, ?)',
      [registry.version, canonicalJson(regionRegistryToJson(registry)), changedBy, changedAtMs, reason],
    );
  }
}
