/**
 * Minimal typings for the two database drivers (their @types packages are not
 * installed): only what the adapters in this folder call.
 */
declare module 'better-sqlite3' {
  interface RunResult {
    changes: number;
    lastInsertRowid: number | bigint;
  }
  interface Statement {
    run(...params: unknown[]): RunResult;
    get(...params: unknown[]): unknown;
    all(...params: unknown[]): unknown[];
  }
  interface Database {
    prepare(sql: string): Statement;
    exec(sql: string): Database;
    pragma(source: string, options?: { simple?: boolean }): unknown;
    close(): void;
    readonly inTransaction: boolean;
    readonly open: boolean;
  }
  interface DatabaseConstructor {
    new (
      filename: string,
      options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number },
    ): Database;
  }
  const Database: DatabaseConstructor;
  export default Database;
}

declare module 'pg' {
  interface QueryResult<R> {
    rows: R[];
    rowCount: number | null;
  }
  interface TypeOverrides {
    getTypeParser(oid: number, format?: string): (value: string) => unknown;
  }
  interface PoolConfig {
    connectionString?: string;
    max?: number;
    idleTimeoutMillis?: number;
    connectionTimeoutMillis?: number;
    options?: string;
    application_name?: string;
    types?: TypeOverrides;
  }
  interface PoolClient {
    query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
    release(err?: Error | boolean): void;
  }
  class Pool {
    constructor(config?: PoolConfig);
    connect(): Promise<PoolClient>;
    query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
    end(): Promise<void>;
    on(event: 'error', listener: (err: Error) => void): this;
  }
  const types: {
    getTypeParser(oid: number, format?: string): (value: string) => unknown;
    builtins: Record<string, number>;
  };
  const _default: { Pool: typeof Pool; types: typeof types };
  export default _default;
  export type { PoolClient, PoolConfig, QueryResult };
  export { Pool, types };
}
