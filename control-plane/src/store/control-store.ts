/**
 * The control plane's store: the database plus one query module per
 * aggregate, each written once for both dialects over SqlDatabase:
 *
 *   tx.levers     kill switches, route mode and rollout   (lever-queries.ts)
 *   tx.rules      compliance holds, seller constraints      (rule-queries.ts)
 *   tx.models     bundles, staged rollout, promotions       (model-queries.ts)
 *   tx.snapshots  published versions (the read model)       (snapshot-queries.ts)
 *   tx.audit      the audit log                             (audit-queries.ts)
 *   tx.tokens     operator tokens                           (token-queries.ts)
 *   tx.regions    the region registry, one row per version   (region-queries.ts)
 *   tx.experiments experiments and their revisions          (experiment-queries.ts)
 *
 * `write(fn)` is the only way to change anything: one serialized
 * transaction, handed to every aggregate through the same `tx`, in which
 * a change service mutates the write model, publishes the next snapshot
 * and appends the audit record, so the three can never disagree.
 */
import type { Mode } from '@mercato/proto/v1/decision';
import { defaultRegionRegistry, type RegionRegistry } from '@mercato/proto/v1/region-registry';
import { REGION_NAME_RE } from '@mercato/proto/v1/regions';
import { DEFAULT_TOKEN_TTL_S } from '../auth/tokens.js';
import { AuditQueries } from './audit-queries.js';
import { ExperimentQueries } from './experiment-queries.js';
import { LeverQueries } from './lever-queries.js';
import { ModelQueries } from './model-queries.js';
import { RegionQueries } from './region-queries.js';
import { RuleQueries } from './rule-queries.js';
import { MIGRATIONS_TO_V2, SCHEMA_VERSION, schemaDdl } from './schema.js';
import { SnapshotQueries } from './snapshot-queries.js';
import type { SqlDatabase, SqlTx } from './sql-database.js';
import { TokenQueries } from './token-queries.js';

/** Seeded once, so a new control plane publishes what a sidecar without one does (defaultControlSnapshot). */
export const SEED_ROUTES: readonly { prefix: string; mode: Mode; rolloutPct: number }[] = [
  { prefix: '/checkout', mode: 'enforce', rolloutPct: 100 },
];
export const SYSTEM_ACTOR = 'system';

/** One transaction, seen through each aggregate's queries. */
export class StoreTx {
  readonly levers: LeverQueries;
  readonly rules: RuleQueries;
  readonly models: ModelQueries;
  readonly snapshots: SnapshotQueries;
  readonly audit: AuditQueries;
  readonly tokens: TokenQueries;
  readonly regions: RegionQueries;
  readonly experiments: ExperimentQueries;

  constructor(sql: SqlTx) {
    this.levers = new LeverQueries(sql);
    this.rules = new RuleQueries(sql);
    this.models = new ModelQueries(sql);
    this.snapshots = new SnapshotQueries(sql);
    this.audit = new AuditQueries(sql);
    this.tokens = new TokenQueries(sql);
    this.regions = new RegionQueries(sql);
    this.experiments = new ExperimentQueries(sql);
  }
}

export class ControlStore {
  constructor(readonly db: SqlDatabase) {}

  get location(): string {
    return this.db.location;
  }

  /** Opens the database, creates the schema if needed and seeds the write model the first time. */
  async open(nowMs: number = Date.now()): Promise<void> {
    await this.db.open(schemaDdl);
    await this.db.write((sql) => migrate(sql, nowMs));
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

/**
 * Seeds the write model the first time (then the DDL made the current
 * schema: every version is recorded at once), or brings a store made by an
 * older control plane up to SCHEMA_VERSION, in the same transaction.
 */
async function migrate(sql: SqlTx, nowMs: number): Promise<void> {
  const applied = new Set(
    (await sql.all<{ version: number }>('SELECT version FROM schema_migrations')).map((r) =>
      Number(r.version),
    ),
  );
  const missing = Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1).filter((v) => !applied.has(v));
  if (missing.length === 0) return;
  if (applied.size > 0) {
    if (!applied.has(2)) {
      for (const stmt of MIGRATIONS_TO_V2) await sql.run(stmt);
      // Tokens from before expiries get the default lifetime from now: none stays valid forever.
      await sql.run('UPDATE tokens SET expires_at_ms = ? WHERE expires_at_ms IS NULL', [
        nowMs + DEFAULT_TOKEN_TTL_S * 1000,
      ]);
    }
    if (!applied.has(3)) await seedRegistryFromRows(new StoreTx(sql), nowMs);
    // Version 4 (experiments) has nothing to migrate: its tables come from schemaDdl.
    for (const v of missing) {
      await sql.run('INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?, ?)', [v, nowMs]);
    }
    return;
  }
  const tx = new StoreTx(sql);
  await tx.regions.append(
    defaultRegionRegistry(),
    SYSTEM_ACTOR,
    nowMs,
    'default region registry of a new store',
  );
  for (const r of SEED_ROUTES) {
    await tx.levers.upsertRoute({ ...r, updatedBy: SYSTEM_ACTOR, updatedAtMs: nowMs });
  }
  await tx.models.setRollout({ stagedVersion: null, stagedPctByRegion: {} }, SYSTEM_ACTOR, nowMs);
  for (let v = 1; v <= SCHEMA_VERSION; v++) {
    await sql.run('INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?, ?)', [v, nowMs]);
  }
}

/**
 * The first registry of a store made before the registry existed: the
 * default regions plus every region its rows already name (kill switches,
 * holds, staged rollout, seller constraints), as residency `open` with no
 * endpoints and no flows, so nothing it serves today turns into an unknown
 * region. An admin then completes them (atpctl region put).
 */
async function seedRegistryFromRows(tx: StoreTx, nowMs: number): Promise<void> {
  const registry: RegionRegistry = defaultRegionRegistry();
  const named = new Set<string>();
  for (const k of await tx.levers.killSwitches()) if (k.scope === 'region') named.add(k.target);
  for (const h of await tx.rules.holds()) if (h.region !== null) named.add(h.region);
  for (const r of Object.keys((await tx.models.rollout()).stagedPctByRegion)) named.add(r);
  for (const s of await tx.rules.sellers()) for (const r of s.constraint.regions ?? []) named.add(r);
  const known = new Set(registry.regions.map((r) => r.name));
  // A name the registry cannot hold (e.g. `eu_west`) stays unknown: refused from now on, cleared by hand.
  const added = [...named].filter((n) => !known.has(n) && REGION_NAME_RE.test(n) && n.length <= 32).sort();
  for (const name of added) registry.regions.push({ name, residency: 'open', flows: [] });
  registry.regions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const why =
    added.length === 0
      ? 'migration to schema 3: default region registry'
      : `migration to schema 3: default region registry plus regions already in use (${added.join(', ')})`;
  await tx.regions.append(registry, SYSTEM_ACTOR, nowMs, why);
}
