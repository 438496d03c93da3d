/**
 * The port both database adapters implement: parameterized SQL with `?`
 * placeholders (the PostgreSQL adapter numbers them), and transactions.
 * Every query of the control plane is written once against this port
 * (control-store.ts); only DDL types differ by dialect (schema.ts).
 *
 * `write` transactions are serialized: in process by a queue, and across
 * control-plane replicas by the database (SQLite's single writer with
 * BEGIN IMMEDIATE; a PostgreSQL transaction-scoped advisory lock). That is
 * what makes snapshot versions monotonic without gaps or duplicates.
 */
export type Dialect = 'sqlite' | 'postgres';

export interface SqlTx {
  all<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  get<R>(sql: string, params?: readonly unknown[]): Promise<R | undefined>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface SqlDatabase {
  readonly dialect: Dialect;
  /** Where the data lives, for status output (never a password). */
  readonly location: string;
  /** Opens the connection(s) and creates the schema if needed. */
  open(ddl: (dialect: Dialect) => string[]): Promise<void>;
  write<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  read<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Runs async jobs one at a time, in order (one SQLite connection cannot interleave transactions). */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.tail.then(job, job);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
