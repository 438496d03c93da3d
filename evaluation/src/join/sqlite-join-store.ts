/**
 * The join's durable state in SQLite (better-sqlite3, synchronous): pending
 * decisions and their items, outcomes that arrived before their decision,
 * the aggregates, the service counters, the watermark and the consumed
 * offsets. The join changes all of them for one batch inside one
 * transaction (`transaction`), and the source commits its offsets to Kafka
 * only after that transaction committed, so a crash at any point either
 * replays a batch whose effects were never written, or skips (by the stored
 * offsets) one whose effects were: nothing is lost or counted twice.
 *
 * WAL with synchronous = FULL: a committed batch survives a power cut.
 */
import { AtpError } from '@mercato/platform/errors';
import Database from 'better-sqlite3';
import { CalibrationTable } from '../calibration/calibration-table.js';
import { EVALUATION_ERR } from '../evaluation-errors.js';
import { AGGREGATE_COLUMNS, type AggregateCounts, JOIN_COUNTERS, type JoinCounter } from './join-counts.js';
import { OutcomeLookup } from './outcome-lookup.js';
import { SEGMENT_COLUMNS, type Segment } from './segment.js';

type Db = InstanceType<typeof Database>;
type Stmt = ReturnType<Db['prepare']>;

export const SQLITE_MEMORY = ':memory:';
/** Schema version written in `meta`; a database of another version is refused. */
export const JOIN_SCHEMA_VERSION = '1';

const DDL = [
  'CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
  'CREATE TABLE IF NOT EXISTS offsets (source TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL, PRIMARY KEY (source, partition))',
  `CREATE TABLE IF NOT EXISTS decisions (decision_id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, close_at_ms INTEGER NOT NULL,
     region TEXT NOT NULL, arm TEXT NOT NULL, model_version TEXT NOT NULL, channel TEXT NOT NULL, degraded TEXT NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS decisions_close ON decisions (close_at_ms)',
  `CREATE TABLE IF NOT EXISTS items (decision_id TEXT NOT NULL, sku TEXT NOT NULL, promised INTEGER NOT NULL,
     node_type TEXT NOT NULL, hot INTEGER NOT NULL, outcome TEXT, truth INTEGER, PRIMARY KEY (decision_id, sku))`,
  `CREATE TABLE IF NOT EXISTS orphans (decision_id TEXT NOT NULL, sku TEXT NOT NULL, kind TEXT NOT NULL,
     close_at_ms INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (decision_id, sku, kind))`,
  'CREATE INDEX IF NOT EXISTS orphans_close ON orphans (close_at_ms)',
  `CREATE TABLE IF NOT EXISTS aggregates (${SEGMENT_COLUMNS.map((c) => `${c} TEXT NOT NULL`).join(', ')},
     ${AGGREGATE_COLUMNS.map((c) => `${c} INTEGER NOT NULL DEFAULT 0`).join(', ')},
     PRIMARY KEY (${SEGMENT_COLUMNS.join(', ')}))`,
  'CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)',
  // Decisions (not items) per region x arm: the units the sample-ratio check counts. Added
  // with IF NOT EXISTS, so an older store gains it (empty) without a schema bump.
  `CREATE TABLE IF NOT EXISTS arm_decisions (region TEXT NOT NULL, arm TEXT NOT NULL, decisions INTEGER NOT NULL,
     PRIMARY KEY (region, arm))`,
  `CREATE TABLE IF NOT EXISTS partitions (source TEXT NOT NULL, partition INTEGER NOT NULL, max_event_ms INTEGER,
     idle INTEGER NOT NULL, PRIMARY KEY (source, partition))`,
];

/** One input partition's progress in event time (outcome-join.ts, "Watermark"). */
export interface PartitionProgress {
  source: string;
  partition: number;
  /** Largest event time applied from it; null before its first record. */
  maxEventMs: number | null;
  /** Caught up with its log end: it does not hold the watermark back. */
  idle: boolean;
}

export interface PendingDecisionRow {
  decision_id: string;
  ts_ms: number;
  region: string;
  arm: string;
  model_version: string;
  channel: string;
  degraded: string;
}

export interface PendingItemRow {
  decision_id: string;
  sku: string;
  promised: number;
  node_type: string;
  hot: number;
  outcome: string | null;
  truth: number | null;
  /** The model side's calibrated p_fulfill of a promise (null: another side answered, or an older store). */
  p?: number | null;
}

export interface OrphanRow {
  decision_id: string;
  sku: string;
  kind: string;
  body: string;
}

export type AggregateRow = Segment & AggregateCounts;

export interface ArmDecisions {
  region: string;
  arm: string;
  decisions: number;
}

export class SqliteJoinStore {
  private readonly db: Db;
  private readonly stmts: Record<string, Stmt>;
  private armDecisionsAdd: Stmt | null = null;
  /** Online calibration rows and the pending-promise estimate (calibration/calibration-table.ts). */
  readonly calibration: CalibrationTable;
  /** Each decision's items and outcomes by id, kept past the window's close (outcome-lookup.ts). */
  readonly outcomes: OutcomeLookup;

  constructor(
    readonly path: string,
    /** `outcomeLookupRows`: item rows kept for lookups by decision id (default OUTCOME_LOOKUP_ROWS; 0 = none). */
    opts: { readonly?: boolean; outcomeLookupRows?: number } = {},
  ) {
    try {
      this.db = new Database(path, {
        readonly: opts.readonly === true,
        fileMustExist: opts.readonly === true,
      });
      if (opts.readonly !== true) {
        if (path !== SQLITE_MEMORY) this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = FULL');
        for (const stmt of DDL) this.db.exec(stmt);
        this.db
          .prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)')
          .run('schema_version', JOIN_SCHEMA_VERSION);
      }
      const v = this.db.prepare('SELECT value FROM meta WHERE key = ?').get('schema_version') as
        | { value: string }
        | undefined;
      if (v?.value !== JOIN_SCHEMA_VERSION) {
        throw new Error(`schema version ${v?.value ?? 'missing'}, expected ${JOIN_SCHEMA_VERSION}`);
      }
      this.calibration = new CalibrationTable(this.db, opts.readonly !== true);
      this.outcomes = new OutcomeLookup(this.db, opts.readonly !== true, opts.outcomeLookupRows);
    } catch (err) {
      throw new AtpError(
        EVALUATION_ERR.STORE,
        `${path}: cannot open the evaluation store (${(err as Error).message})`,
        '--db',
        { cause: err },
      );
    }
    this.stmts = this.prepareAll();
  }

  private prepareAll(): Record<string, Stmt> {
    const seg = SEGMENT_COLUMNS.join(', ');
    const segQ = SEGMENT_COLUMNS.map(() => '?').join(', ');
    const p = (sql: string) => this.db.prepare(sql);
    return {
      offsetGet: p('SELECT next_offset FROM offsets WHERE source = ? AND partition = ?'),
      offsetSet: p(
        'INSERT INTO offsets (source, partition, next_offset) VALUES (?, ?, ?) ON CONFLICT (source, partition) DO UPDATE SET next_offset = excluded.next_offset',
      ),
      offsetsAll: p('SELECT source, partition, next_offset FROM offsets ORDER BY source, partition'),
      metaGet: p('SELECT value FROM meta WHERE key = ?'),
      metaSet: p(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      decisionGet: p('SELECT * FROM decisions WHERE decision_id = ?'),
      decisionPut: p(
        'INSERT INTO decisions (decision_id, ts_ms, close_at_ms, region, arm, model_version, channel, degraded) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      decisionsClosing: p('SELECT * FROM decisions WHERE close_at_ms <= ? ORDER BY close_at_ms'),
      decisionDelete: p('DELETE FROM decisions WHERE decision_id = ?'),
      decisionCount: p('SELECT count(*) AS n FROM decisions'),
      // A read-only store from before the calibration column never writes items: prepare what it has.
      itemPut: p(
        this.calibration.itemsHaveP
          ? 'INSERT INTO items (decision_id, sku, promised, node_type, hot, p) VALUES (?, ?, ?, ?, ?, ?)'
          : 'INSERT INTO items (decision_id, sku, promised, node_type, hot) VALUES (?, ?, ?, ?, ?)',
      ),
      itemGet: p('SELECT * FROM items WHERE decision_id = ? AND sku = ?'),
      itemsOf: p('SELECT * FROM items WHERE decision_id = ?'),
      itemSetOutcome: p('UPDATE items SET outcome = ? WHERE decision_id = ? AND sku = ?'),
      itemSetTruth: p('UPDATE items SET truth = ? WHERE decision_id = ? AND sku = ?'),
      itemsDelete: p('DELETE FROM items WHERE decision_id = ?'),
      orphanPut: p(
        'INSERT OR IGNORE INTO orphans (decision_id, sku, kind, close_at_ms, body) VALUES (?, ?, ?, ?, ?)',
      ),
      orphansOf: p('SELECT * FROM orphans WHERE decision_id = ? ORDER BY sku, kind'),
      orphansDeleteOf: p('DELETE FROM orphans WHERE decision_id = ?'),
      orphansExpire: p('DELETE FROM orphans WHERE close_at_ms <= ?'),
      orphanCount: p('SELECT count(*) AS n FROM orphans'),
      nextClose: p(
        'SELECT min(m) AS m FROM (SELECT min(close_at_ms) AS m FROM decisions UNION ALL SELECT min(close_at_ms) FROM orphans)',
      ),
      aggregateAdd: p(
        `INSERT INTO aggregates (${seg}, ${AGGREGATE_COLUMNS.join(', ')}) VALUES (${segQ}, ${AGGREGATE_COLUMNS.map(() => '?').join(', ')})
         ON CONFLICT (${seg}) DO UPDATE SET ${AGGREGATE_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
      ),
      aggregatesAll: p(`SELECT * FROM aggregates ORDER BY ${seg}`),
      counterAdd: p(
        'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value',
      ),
      countersAll: p('SELECT name, value FROM counters'),
      partitionsAll: p(
        'SELECT source, partition, max_event_ms, idle FROM partitions ORDER BY source, partition',
      ),
      partitionPut: p(
        'INSERT INTO partitions (source, partition, max_event_ms, idle) VALUES (?, ?, ?, ?) ON CONFLICT (source, partition) DO UPDATE SET max_event_ms = excluded.max_event_ms, idle = excluded.idle',
      ),
    };
  }

  private s(name: string): Stmt {
    const st = this.stmts[name];
    if (st === undefined) throw new Error(`no statement ${name}`);
    return st;
  }

  /** Runs `fn` in one write transaction: all of it is durable, or none of it. */
  transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  nextOffset(source: string, partition: number): number {
    const r = this.s('offsetGet').get(source, partition) as { next_offset: number } | undefined;
    return r?.next_offset ?? 0;
  }
  setNextOffset(source: string, partition: number, next: number): void {
    this.s('offsetSet').run(source, partition, next);
  }
  offsets(): { source: string; partition: number; next_offset: number }[] {
    return this.s('offsetsAll').all() as { source: string; partition: number; next_offset: number }[];
  }

  watermarkMs(): number {
    const r = this.s('metaGet').get('watermark_ms') as { value: string } | undefined;
    return r === undefined ? 0 : Number(r.value);
  }
  setWatermarkMs(ms: number): void {
    this.s('metaSet').run('watermark_ms', String(ms));
  }

  decision(id: string): PendingDecisionRow | undefined {
    return this.s('decisionGet').get(id) as PendingDecisionRow | undefined;
  }
  putDecision(d: PendingDecisionRow, closeAtMs: number): void {
    this.s('decisionPut').run(
      d.decision_id,
      d.ts_ms,
      closeAtMs,
      d.region,
      d.arm,
      d.model_version,
      d.channel,
      d.degraded,
    );
  }
  decisionsClosingBy(ms: number): PendingDecisionRow[] {
    return this.s('decisionsClosing').all(ms) as PendingDecisionRow[];
  }
  deleteDecision(id: string): void {
    this.s('itemsDelete').run(id);
    this.s('decisionDelete').run(id);
  }
  pendingDecisions(): number {
    return (this.s('decisionCount').get() as { n: number }).n;
  }

  /** `p`: the model side's calibrated p_fulfill of a promise, else null (kept for online calibration). */
  putItem(
    decisionId: string,
    sku: string,
    promised: boolean,
    nodeType: string,
    hot: boolean,
    p: number | null = null,
  ): void {
    const row = [decisionId, sku, promised ? 1 : 0, nodeType, hot ? 1 : 0];
    this.s('itemPut').run(...(this.calibration.itemsHaveP ? [...row, p] : row));
  }
  item(decisionId: string, sku: string): PendingItemRow | undefined {
    return this.s('itemGet').get(decisionId, sku) as PendingItemRow | undefined;
  }
  itemsOf(decisionId: string): PendingItemRow[] {
    return this.s('itemsOf').all(decisionId) as PendingItemRow[];
  }
  setItemOutcome(decisionId: string, sku: string, status: string): void {
    this.s('itemSetOutcome').run(status, decisionId, sku);
  }
  setItemTruth(decisionId: string, sku: string, available: boolean): void {
    this.s('itemSetTruth').run(available ? 1 : 0, decisionId, sku);
  }

  /** False when an orphan of this (decision, sku, kind) is already waiting (a duplicate). */
  putOrphan(decisionId: string, sku: string, kind: string, closeAtMs: number, body: string): boolean {
    return this.s('orphanPut').run(decisionId, sku, kind, closeAtMs, body).changes === 1;
  }
  takeOrphans(decisionId: string): OrphanRow[] {
    const rows = this.s('orphansOf').all(decisionId) as OrphanRow[];
    if (rows.length > 0) this.s('orphansDeleteOf').run(decisionId);
    return rows;
  }
  /** Deletes orphans whose window closed by `ms`; returns how many. */
  expireOrphans(ms: number): number {
    return this.s('orphansExpire').run(ms).changes;
  }
  /** The earliest window close of a pending decision or orphan; +Infinity when nothing is pending. */
  nextCloseMs(): number {
    const r = this.s('nextClose').get() as { m: number | null };
    return r.m ?? Number.POSITIVE_INFINITY;
  }
  pendingOrphans(): number {
    return (this.s('orphanCount').get() as { n: number }).n;
  }

  addAggregate(seg: readonly string[], counts: AggregateCounts): void {
    this.s('aggregateAdd').run(...seg, ...AGGREGATE_COLUMNS.map((c) => counts[c]));
  }
  aggregates(): AggregateRow[] {
    return (this.s('aggregatesAll').all() as Record<string, unknown>[]).map((r) => ({
      region: String(r.region),
      arm: String(r.arm),
      modelVersion: String(r.model_version),
      nodeType: String(r.node_type) as Segment['nodeType'],
      hotness: String(r.hotness) as Segment['hotness'],
      channel: String(r.channel),
      degraded: String(r.degraded) as Segment['degraded'],
      ...(Object.fromEntries(AGGREGATE_COLUMNS.map((c) => [c, Number(r[c])])) as AggregateCounts),
    }));
  }

  addArmDecisions(region: string, arm: string, n: number): void {
    if (n === 0) return;
    // Prepared on first use: a read-only store that predates the table must still open.
    this.armDecisionsAdd ??= this.db.prepare(
      'INSERT INTO arm_decisions (region, arm, decisions) VALUES (?, ?, ?) ON CONFLICT (region, arm) DO UPDATE SET decisions = decisions + excluded.decisions',
    );
    this.armDecisionsAdd.run(region, arm, n);
  }
  /** Decisions counted per region x arm (each decision once, duplicates and late ones excluded). */
  armDecisions(): ArmDecisions[] {
    // A store opened read-only that predates the table has none: no decision counts, not an error.
    const has = this.db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'arm_decisions'")
      .get();
    if (has === undefined) return [];
    return this.db
      .prepare('SELECT region, arm, decisions FROM arm_decisions ORDER BY region, arm')
      .all() as ArmDecisions[];
  }

  addCounter(name: JoinCounter, n: number): void {
    if (n !== 0) this.s('counterAdd').run(name, n);
  }
  counters(): Record<JoinCounter, number> {
    const out = Object.fromEntries(JOIN_COUNTERS.map((c) => [c, 0])) as Record<JoinCounter, number>;
    for (const r of this.s('countersAll').all() as { name: string; value: number }[]) {
      if ((JOIN_COUNTERS as readonly string[]).includes(r.name)) out[r.name as JoinCounter] = r.value;
    }
    return out;
  }

  partitions(): PartitionProgress[] {
    return (
      this.s('partitionsAll').all() as {
        source: string;
        partition: number;
        max_event_ms: number | null;
        idle: number;
      }[]
    ).map((r) => ({
      source: r.source,
      partition: r.partition,
      maxEventMs: r.max_event_ms,
      idle: r.idle === 1,
    }));
  }
  putPartition(p: PartitionProgress): void {
    this.s('partitionPut').run(p.source, p.partition, p.maxEventMs, p.idle ? 1 : 0);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
