/**
 * PostgreSQL adapter (pg 8) for high-availability deployments: several
 * control-plane replicas share one database. Write transactions take a
 * transaction-scoped advisory lock first, so replicas publish snapshot
 * versions one after another; reads run without it.
 *
 * `schema` (optional) isolates a deployment or a test run in its own
 * PostgreSQL schema (created if missing; search_path set per connection).
 */
import { AtpError } from '@mercato/platform/errors';
import pg, { type Pool, type PoolClient } from 'pg';
import { ERR } from '../errors.js';
import type { Dialect, SqlDatabase, SqlTx } from './sql-database.js';

export const PG_POOL_SIZE = 10;
export const PG_CONNECT_TIMEOUT_MS = 5_000;
export const PG_IDLE_TIMEOUT_MS = 30_000;
/** Key of the advisory lock serializing writers across replicas ("ATPC"). */
export const PG_WRITE_LOCK_KEY = 0x41545043;
const PG_INT8_OID = 20;
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;
/** SQLSTATE classes that mean "the database is not reachable right now". */
const UNAVAILABLE_SQLSTATE = /^(08|57P|53)/;

export interface PostgresOptions {
  url: string;
  schema?: string;
  poolSize?: number;
}

export class PostgresDatabase implements SqlDatabase {
  readonly dialect: Dialect = 'postgres';
  private pool: Pool | null = null;

  constructor(private readonly opts: PostgresOptions) {
    if (opts.schema !== undefined && !SCHEMA_RE.test(opts.schema)) {
      throw new AtpError(ERR.CONFIG_INVALID, 'postgres schema must match [a-z_][a-z0-9_]*', 'store.schema');
    }
  }

  get location(): string {
    const u = safeUrl(this.opts.url);
    return `postgres://${u}${this.opts.schema === undefined ? '' : ` schema ${this.opts.schema}`}`;
  }

  async open(ddl: (dialect: Dialect) => string[]): Promise<void> {
    if (this.pool !== null) return;
    const schema = this.opts.schema;
    if (schema !== undefined) {
      // The schema must exist before connections that use it as search_path do anything.
      const boot = new pg.Pool({
        connectionString: this.opts.url,
        max: 1,
        connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
      });
      boot.on('error', () => undefined);
      try {
        await boot.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      } catch (err) {
        throw storeError(err, 'cannot create the schema');
      } finally {
        await boot.end();
      }
    }
    const pool = new pg.Pool({
      connectionString: this.opts.url,
      max: this.opts.poolSize ?? PG_POOL_SIZE,
      connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: PG_IDLE_TIMEOUT_MS,
      application_name: 'atp-control-plane',
      ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
      // BIGINT columns hold versions and epoch ms: well inside Number's exact range.
      types: {
        getTypeParser: (oid: number, format?: string) =>
          oid === PG_INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format),
      },
    });
    // An idle client losing its connection must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    this.pool = pool;
    await this.write(async (tx) => {
      for (const stmt of ddl('postgres')) await tx.run(stmt);
    });
  }

  write<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.transaction(true, fn);
  }

  read<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.transaction(false, fn);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.end();
  }

  private async transaction<T>(write: boolean, fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    const pool = this.pool;
    if (pool === null) throw new AtpError(ERR.STORE_UNAVAILABLE, 'the PostgreSQL store is closed');
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw storeError(err, 'cannot connect');
    }
    let broken = false;
    try {
      await client.query(write ? 'BEGIN' : 'BEGIN READ ONLY');
      if (write) await client.query('SELECT pg_advisory_xact_lock($1)', [PG_WRITE_LOCK_KEY]);
      const out = await fn(txOn(client));
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err instanceof AtpError ? err : storeError(err, 'query failed');
    } finally {
      client.release(broken);
    }
  }
}

/** `?` placeholders -> `$1..$n` (the shared queries never put `?` inside string literals). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function txOn(client: PoolClient): SqlTx {
  return {
    async all<R>(sql: string, params: readonly unknown[] = []) {
      return (await client.query<R>(numberPlaceholders(sql), [...params])).rows;
    },
    async get<R>(sql: string, params: readonly unknown[] = []) {
      return (await client.query<R>(numberPlaceholders(sql), [...params])).rows[0];
    },
    async run(sql: string, params: readonly unknown[] = []) {
      return (await client.query(numberPlaceholders(sql), [...params])).rowCount ?? 0;
    },
  };
}

function storeError(err: unknown, what: string): AtpError {
  const code = String((err as { code?: string }).code ?? '');
  const unavailable =
    UNAVAILABLE_SQLSTATE.test(code) ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND'].includes(code) ||
    /timeout|terminat|Connection/i.test((err as Error).message);
  return new AtpError(
    unavailable ? ERR.STORE_UNAVAILABLE : ERR.INTERNAL,
    `${what}: ${(err as Error).message}`,
    undefined,
    { cause: err },
  );
}

function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.username === '' ? '' : `${u.username}@`}${u.host}${u.pathname}`;
  } catch {
    return '(unparsable url)';
  }
}
