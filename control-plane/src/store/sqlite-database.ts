/**
 * SQLite adapter (better-sqlite3 12): the embedded default. One connection
 * in WAL mode; transactions run one at a time through a queue because the
 * driver is synchronous and a transaction spans awaits in the store code.
 * BEGIN IMMEDIATE takes the write lock up front. The driver's own busy
 * timeout would wait synchronously (freezing the event loop, and with it the
 * other connection that holds the lock if it lives in this process), so the
 * connection has none: a busy BEGIN is retried with async sleeps for up to
 * SQLITE_BUSY_TIMEOUT_MS. A second process on the same file (e.g.
 * `control-plane token create`) therefore waits its turn. SQLite is the
 * single-node default: run one serving control plane per file.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError } from '@mercato/platform/errors';
import Database from 'better-sqlite3';
import { ERR } from '../errors.js';
import { type Dialect, SerialQueue, type SqlDatabase, type SqlTx } from './sql-database.js';

export const SQLITE_BUSY_TIMEOUT_MS = 5_000;
export const SQLITE_BUSY_RETRY_MS = 5;
export const SQLITE_MEMORY = ':memory:';

type Db = InstanceType<typeof Database>;

export class SqliteDatabase implements SqlDatabase {
  readonly dialect: Dialect = 'sqlite';
  private db: Db | null = null;
  private readonly queue = new SerialQueue();

  constructor(private readonly path: string) {}

  get location(): string {
    return `sqlite:${this.path}`;
  }

  async open(ddl: (dialect: Dialect) => string[]): Promise<void> {
    if (this.db !== null) return;
    try {
      const db = new Database(this.path, { timeout: 0 });
      if (this.path !== SQLITE_MEMORY) db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      // FULL: an accepted change survives a power cut (the audit log is a record, not a cache).
      db.pragma('synchronous = FULL');
      this.db = db;
    } catch (err) {
      throw storeError(err, `cannot open ${this.path}`);
    }
    await this.write(async (tx) => {
      for (const stmt of ddl('sqlite')) await tx.run(stmt);
    });
  }

  write<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN IMMEDIATE', fn);
  }

  read<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN', fn);
  }

  async close(): Promise<void> {
    await this.queue.run(async () => {
      this.db?.close();
      this.db = null;
    });
  }

  private transaction<T>(begin: string, fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      const db = this.db;
      if (db === null) throw new AtpError(ERR.STORE_UNAVAILABLE, 'the SQLite store is closed');
      await beginWithRetry(db, begin);
      try {
        const out = await fn(txOn(db));
        db.exec('COMMIT');
        return out;
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err instanceof AtpError ? err : storeError(err, 'query failed');
      }
    });
  }
}

async function beginWithRetry(db: Db, begin: string): Promise<void> {
  const deadline = performance.now() + SQLITE_BUSY_TIMEOUT_MS;
  let wait = SQLITE_BUSY_RETRY_MS;
  for (;;) {
    try {
      db.exec(begin);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!code.startsWith('SQLITE_BUSY') || performance.now() > deadline)
        throw storeError(err, 'cannot begin a transaction');
    }
    await sleep(wait);
    wait = Math.min(wait * 2, 100);
  }
}

function txOn(db: Db): SqlTx {
  return {
    async all<R>(sql: string, params: readonly unknown[] = []) {
      return db.prepare(sql).all(...params) as R[];
    },
    async get<R>(sql: string, params: readonly unknown[] = []) {
      return db.prepare(sql).get(...params) as R | undefined;
    },
    async run(sql: string, params: readonly unknown[] = []) {
      return db.prepare(sql).run(...params).changes;
    },
  };
}

function storeError(err: unknown, what: string): AtpError {
  const code = (err as { code?: string }).code ?? '';
  const busy =
    code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || code === 'SQLITE_CANTOPEN';
  return new AtpError(
    busy ? ERR.STORE_UNAVAILABLE : ERR.INTERNAL,
    `${what}: ${(err as Error).message}`,
    undefined,
    {
      cause: err,
    },
  );
}
