/**
 * Store configuration and factories: `createControlStore(config)` for the
 * configured database, `createFakeControlStore()` for tests and the
 * embedded default (SQLite in memory: the same queries, nothing on disk).
 */
import { AtpError } from '@mercato/platform/errors';
import { ERR } from '../errors.js';
import { ControlStore } from './control-store.js';
import { PostgresDatabase } from './postgres-database.js';
import { SQLITE_MEMORY, SqliteDatabase } from './sqlite-database.js';

export type StoreConfig =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; schema?: string; poolSize?: number };

/**
 * Parses a `--db` value: `sqlite:<path>` (or a bare path ending in .db /
 * .sqlite), `sqlite::memory:`, or a `postgres://` / `postgresql://` URL;
 * `?schema=<name>` on a PostgreSQL URL selects the schema.
 */
export function parseStoreUrl(raw: string, field = 'db'): StoreConfig {
  if (raw.startsWith('postgres://') || raw.startsWith('postgresql://')) {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new AtpError(ERR.CONFIG_INVALID, `${field}: not a valid PostgreSQL URL`, field);
    }
    const schema = u.searchParams.get('schema') ?? undefined;
    u.searchParams.delete('schema');
    return { kind: 'postgres', url: u.toString(), ...(schema === undefined ? {} : { schema }) };
  }
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length);
    if (path === '') throw new AtpError(ERR.CONFIG_INVALID, `${field}: sqlite:<path> needs a path`, field);
    return { kind: 'sqlite', path };
  }
  if (/\.(db|sqlite|sqlite3)$/.test(raw)) return { kind: 'sqlite', path: raw };
  throw new AtpError(
    ERR.CONFIG_INVALID,
    `${field}: expected sqlite:<path>, <file>.db or postgres://..., got "${raw}"`,
    field,
  );
}

export function createControlStore(config: StoreConfig): ControlStore {
  if (config.kind === 'sqlite') return new ControlStore(new SqliteDatabase(config.path));
  return new ControlStore(
    new PostgresDatabase({
      url: config.url,
      ...(config.schema === undefined ? {} : { schema: config.schema }),
      ...(config.poolSize === undefined ? {} : { poolSize: config.poolSize }),
    }),
  );
}

export function createFakeControlStore(): ControlStore {
  return new ControlStore(new SqliteDatabase(SQLITE_MEMORY));
}
