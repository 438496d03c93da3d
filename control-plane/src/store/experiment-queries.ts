/**
 * Experiments' rows inside a store transaction. `experiments` holds each
 * experiment's current revision (the write model the snapshot is built
 * from); `experiment_revisions` keeps every revision ever written, who wrote
 * it, when and why (append-only), so an experiment's history can be read
 * back beside the audit log. Bodies are canonical JSON of the contract
 * (proto/v1/experiment.ts), parsed again on read.
 */
import { type Experiment, experimentToJson, parseExperiment } from '@mercato/proto/v1/experiment';
import { canonicalJson } from '@mercato/proto/v1/snapshot-content';
import type { SqlTx } from './sql-database.js';

export interface ExperimentRevisionRow {
  experiment: Experiment;
  changedBy: string;
  changedAtMs: number;
  reason: string;
}

export class ExperimentQueries {
  constructor(private readonly sql: SqlTx) {}

  async list(): Promise<Experiment[]> {
    const rows = await this.sql.all<{ body: string }>('SELECT body FROM experiments ORDER BY id');
    return rows.map((r) => parseExperiment(JSON.parse(String(r.body))));
  }

  async get(id: string): Promise<Experiment | undefined> {
    const rows = await this.sql.all<{ body: string }>('SELECT body FROM experiments WHERE id = ?', [id]);
    const row = rows[0];
    return row === undefined ? undefined : parseExperiment(JSON.parse(String(row.body)));
  }

  /** Writes `e` as the current revision and appends it to the history. */
  async put(e: Experiment, changedBy: string, changedAtMs: number, reason: string): Promise<void> {
    const body = canonicalJson(experimentToJson(e));
    await this.sql.run(
      `INSERT INTO experiments (id, revision, state, body, updated_by, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, state = excluded.state, body = excluded.body,
         updated_by = excluded.updated_by, updated_at_ms = excluded.updated_at_ms`,
      [e.id, e.revision, e.state, body, changedBy, changedAtMs],
    );
    await this.sql.run(
      'INSERT INTO experiment_revisions (id, revision, body, changed_by, changed_at_ms, reason) VALUES (?, ?, ?, ?, ?, ?)',
      [e.id, e.revision, body, changedBy, changedAtMs, reason],
    );
  }

  /** Newest first. */
  async history(id: string, limit: number): Promise<ExperimentRevisionRow[]> {
    const rows = await this.sql.all<Record<string, unknown>>(
      'SELECT body, changed_by, changed_at_ms, reason FROM experiment_revisions WHERE id = ? ORDER BY revision DESC LIMIT ?',
      [id, limit],
    );
    return rows.map((r) => ({
      experiment: parseExperiment(JSON.parse(String(r.body))),
      changedBy: String(r.changed_by),
      changedAtMs: Number(r.changed_at_ms),
      reason: String(r.reason),
    }));
  }
}
