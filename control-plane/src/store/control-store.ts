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
 *
 * `write(fn)` is the only way to change anything: one serialized
 * transaction, handed to every aggregate through the same `tx`, in which
 * a change service mutates the write model, publishes the next snapshot
 * and appends the audit record, so the three can never disagree.
 */
import type { Mode } from '@mercato/proto/v1/decision';
import { DEFAULT_TOKEN_TTL_S } from '../auth/tokens.js';
import { AuditQueries } from './audit-queries.js';
import { LeverQueries } from './lever-queries.js';
import { ModelQueries } from './model-queries.js';
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

  constructor(sql: SqlTx) {
    this.levers = new LeverQueries(sql);
    this.rules = new RuleQueries(sql);
    this.models = new ModelQueries(sql);
    this.snapshots = new SnapshotQueries(sql);
    this.audit = new AuditQueries(sql);
    this.tokens = new TokenQueries(sql);
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
  if (applied.has(SCHEMA_VERSION)) return;
  if (applied.size > 0) {
    if (!applied.has(2)) {
      for (const stmt of MIGRATIONS_TO_V2) await sql.run(stmt);
      // Tokens from before expiries get the default lifetime from now: none stays valid forever.
      await sql.run('UPDATE tokens SET expires_at_ms = ? WHERE expires_at_ms IS NULL', [
        nowMs + DEFAULT_TOKEN_TTL_S * 1000,
      ]);
    }
    await sql.run('INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?, ?)', [
      SCHEMA_VERSION,
      nowMs,
    ]);
    return;
  }
  const tx = new StoreTx(sql);
  for (const r of SEED_ROUTES) {
    await tx.levers.upsertRoute({ ...r, updatedBy: SYSTEM_ACTOR, updatedAtMs: nowMs });
  }
  await tx.models.setRollout({ stagedVersion: null, stagedPctByRegion: {} }, SYSTEM_ACTOR, nowMs);
  for (let v = 1; v <= SCHEMA_VERSION; v++) {
    await sql.run('INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?, ?)', [v, nowMs]);
  }
}
