/**
 * The join store's calibration rows: per region x model version, the fine
 * bins of online-calibration.ts (promises of the model side whose outcome
 * said whether the stock was there), written in the join's batch
 * transaction; and the label-free estimate over promises still waiting for
 * their outcome (sum of 1 - p_fulfill), read from the pending items.
 *
 * The table and the items' `p` column are added to an older store on open
 * (writable stores only); a read-only open of an older store has neither and
 * reports no calibration rather than failing.
 */
import type Database from 'better-sqlite3';
import { CalibrationAccumulator, FINE_BINS } from './online-calibration.js';

type Db = InstanceType<typeof Database>;

export interface CalibrationKey {
  region: string;
  modelVersion: string;
}

export interface PendingEstimate extends CalibrationKey {
  /** Promises of the model side still waiting for their outcome. */
  promises: number;
  /** Oversells to expect among them: sum of 1 - p_fulfill. */
  expectedOversells: number;
}

/** Per-batch deltas: (region, model) -> sparse fine bins. */
export class CalibrationDeltas {
  private readonly byKey = new Map<
    string,
    { key: CalibrationKey; bins: Map<number, [number, number, number]> }
  >();

  add(key: CalibrationKey, p: number, fulfilled: boolean): void {
    const k = `${key.region}\t${key.modelVersion}`;
    let entry = this.byKey.get(k);
    if (entry === undefined) {
      entry = { key, bins: new Map() };
      this.byKey.set(k, entry);
    }
    const q = Math.min(1, Math.max(0, p));
    const bin = Math.min(FINE_BINS - 1, Math.floor(q * FINE_BINS));
    const cell = entry.bins.get(bin) ?? [0, 0, 0];
    cell[0] += 1;
    cell[1] += q;
    if (fulfilled) cell[2] += 1;
    entry.bins.set(bin, cell);
  }

  clear(): void {
    this.byKey.clear();
  }

  *rows(): Generator<[CalibrationKey, number, [number, number, number]]> {
    for (const { key, bins } of this.byKey.values()) for (const [bin, cell] of bins) yield [key, bin, cell];
  }
}

export class CalibrationTable {
  private readonly addStmt: ReturnType<Db['prepare']> | null;
  /** The items table has the `p` column (always, once opened writable). */
  readonly itemsHaveP: boolean;

  constructor(
    private readonly db: Db,
    writable: boolean,
  ) {
    if (writable) {
      db.exec(`CREATE TABLE IF NOT EXISTS calibration (region TEXT NOT NULL, model_version TEXT NOT NULL,
        bin INTEGER NOT NULL, n INTEGER NOT NULL, sum_p REAL NOT NULL, fulfilled INTEGER NOT NULL,
        PRIMARY KEY (region, model_version, bin))`);
      const cols = db.prepare('PRAGMA table_info(items)').all() as { name: string }[];
      if (!cols.some((c) => c.name === 'p')) db.exec('ALTER TABLE items ADD COLUMN p REAL');
    }
    this.addStmt = writable
      ? db.prepare(
          `INSERT INTO calibration (region, model_version, bin, n, sum_p, fulfilled) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (region, model_version, bin) DO UPDATE SET n = n + excluded.n,
             sum_p = sum_p + excluded.sum_p, fulfilled = fulfilled + excluded.fulfilled`,
        )
      : null;
    this.itemsHaveP = this.has('items', 'p');
  }

  /** Writes a batch's deltas (inside the join's transaction). */
  write(deltas: CalibrationDeltas): void {
    if (this.addStmt === null) throw new Error('calibration table opened read-only');
    for (const [key, bin, [n, sumP, ok]] of deltas.rows()) {
      this.addStmt.run(key.region, key.modelVersion, bin, n, sumP, ok);
    }
  }

  private has(table: string, column?: string): boolean {
    if (column === undefined) {
      return (
        this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !==
        undefined
      );
    }
    return (this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some(
      (c) => c.name === column,
    );
  }

  /** The accumulated calibration per region x model version. */
  accumulators(): { key: CalibrationKey; acc: CalibrationAccumulator }[] {
    if (!this.has('calibration')) return [];
    const rows = this.db
      .prepare(
        'SELECT region, model_version, bin, n, sum_p, fulfilled FROM calibration ORDER BY region, model_version, bin',
      )
      .all() as {
      region: string;
      model_version: string;
      bin: number;
      n: number;
      sum_p: number;
      fulfilled: number;
    }[];
    const out = new Map<string, { key: CalibrationKey; acc: CalibrationAccumulator }>();
    for (const r of rows) {
      const k = `${r.region}\t${r.model_version}`;
      let e = out.get(k);
      if (e === undefined) {
        e = { key: { region: r.region, modelVersion: r.model_version }, acc: new CalibrationAccumulator() };
        out.set(k, e);
      }
      if (r.bin < 0 || r.bin >= FINE_BINS) continue;
      e.acc.count[r.bin] = r.n;
      e.acc.sumP[r.bin] = r.sum_p;
      e.acc.fulfilled[r.bin] = r.fulfilled;
    }
    return [...out.values()];
  }

  /** The expected oversells of promises still waiting for outcomes, per region x model version. */
  pendingEstimates(): PendingEstimate[] {
    if (!this.has('items', 'p')) return [];
    return (
      this.db
        .prepare(
          `SELECT d.region AS region, d.model_version AS model_version, count(*) AS promises, sum(1 - i.p) AS expected
           FROM items i JOIN decisions d ON d.decision_id = i.decision_id
           WHERE i.promised = 1 AND i.outcome IS NULL AND i.p IS NOT NULL
           GROUP BY d.region, d.model_version ORDER BY d.region, d.model_version`,
        )
        .all() as { region: string; model_version: string; promises: number; expected: number }[]
    ).map((r) => ({
      region: r.region,
      modelVersion: r.model_version,
      promises: r.promises,
      expectedOversells: r.expected,
    }));
  }
}
