/**
 * What became of one decision, by id (GET /v1/decisions/<id>/outcome: the
 * console's decision explorer). The join's own state forgets a decision when
 * its window closes, so the items are also written here, with each counted
 * outcome (status, node, quantities, times), in the join's batch
 * transaction, and kept past the close: the newest `maxRows` item rows stay,
 * older ones are pruned at the end of each batch (a rowid range, cheap).
 *
 * The table is added to an older store on open (writable stores only); a
 * read-only open of a store without it looks nothing up.
 */

import type { DecisionEvent } from '@mercato/proto/v1/decision-event';
import type { OrderOutcome, OutcomeStatus } from '@mercato/proto/v1/order-outcome';
import type Database from 'better-sqlite3';

type Db = InstanceType<typeof Database>;
type Stmt = ReturnType<Db['prepare']>;

/** Item rows kept for lookups by default (a few tens of MB of SQLite pages). */
export const OUTCOME_LOOKUP_ROWS = 200_000;

/** One item's outcome as the join counted it. */
export interface ItemOutcomeView {
  status: OutcomeStatus;
  node: string;
  unitsPicked: number;
  dueAtMs: number;
  resolvedAtMs: number;
  onTime: boolean;
}

export interface ItemLookup {
  sku: string;
  qty: number;
  promised: boolean;
  /** The node promised ('' when nothing was). */
  node: string;
  outcome: ItemOutcomeView | null;
}

/**
 * - pending: a promised item has no outcome yet and the window is open;
 * - resolved: every promised item has its outcome;
 * - unresolved: the window closed with a promised item still without one;
 * - nothing-promised: no item was promised (no outcome is expected).
 */
export type DecisionOutcomeState = 'pending' | 'resolved' | 'unresolved' | 'nothing-promised';

export interface DecisionOutcomeLookup {
  decisionId: string;
  tsMs: number;
  windowClosesAtMs: number;
  state: DecisionOutcomeState;
  items: ItemLookup[];
}

interface Row {
  sku: string;
  ts_ms: number;
  close_at_ms: number;
  qty: number;
  promised: number;
  node: string;
  status: string | null;
  outcome_node: string | null;
  units_picked: number | null;
  due_at_ms: number | null;
  resolved_at_ms: number | null;
  on_time: number | null;
}

export class OutcomeLookup {
  private readonly put: Stmt | null;
  private readonly update: Stmt | null;
  private readonly pruneStmt: Stmt | null;
  private readonly get: Stmt | null;

  constructor(
    db: Db,
    writable: boolean,
    readonly maxRows = OUTCOME_LOOKUP_ROWS,
  ) {
    if (writable) {
      db.exec(`CREATE TABLE IF NOT EXISTS outcome_lookup (decision_id TEXT NOT NULL, sku TEXT NOT NULL,
        ts_ms INTEGER NOT NULL, close_at_ms INTEGER NOT NULL, qty INTEGER NOT NULL, promised INTEGER NOT NULL,
        node TEXT NOT NULL, status TEXT, outcome_node TEXT, units_picked INTEGER, due_at_ms INTEGER,
        resolved_at_ms INTEGER, on_time INTEGER, UNIQUE (decision_id, sku))`);
    }
    const has =
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outcome_lookup'").get() !==
      undefined;
    this.get = has ? db.prepare('SELECT * FROM outcome_lookup WHERE decision_id = ? ORDER BY rowid') : null;
    const w = writable && has && maxRows > 0;
    this.put = w
      ? db.prepare(
          'INSERT OR IGNORE INTO outcome_lookup (decision_id, sku, ts_ms, close_at_ms, qty, promised, node) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
      : null;
    this.update = w
      ? db.prepare(
          'UPDATE outcome_lookup SET status = ?, outcome_node = ?, units_picked = ?, due_at_ms = ?, resolved_at_ms = ?, on_time = ? WHERE decision_id = ? AND sku = ?',
        )
      : null;
    // Rowids only grow (nothing but the oldest rows is ever deleted): the newest maxRows are the top ones.
    this.pruneStmt = w
      ? db.prepare('DELETE FROM outcome_lookup WHERE rowid <= (SELECT max(rowid) FROM outcome_lookup) - ?')
      : null;
  }

  /** A decision the join took in (inside its transaction). */
  putDecision(e: DecisionEvent, closeAtMs: number): void {
    if (this.put === null) return;
    for (const it of e.items)
      this.put.run(e.decisionId, it.sku, e.tsMs, closeAtMs, it.qty, it.promised ? 1 : 0, it.node);
  }

  /** An outcome the join counted for a promised item. */
  putOutcome(o: OrderOutcome): void {
    this.update?.run(
      o.status,
      o.node,
      o.unitsPicked,
      o.dueAtMs,
      o.resolvedAtMs,
      o.onTime ? 1 : 0,
      o.decisionId,
      o.sku,
    );
  }

  /** Keeps the newest `maxRows` item rows (end of each batch). */
  prune(): void {
    this.pruneStmt?.run(this.maxRows);
  }

  /** The decision's items and outcomes, judged at `watermarkMs`; undefined when it is not (or no longer) here. */
  lookup(decisionId: string, watermarkMs: number): DecisionOutcomeLookup | undefined {
    const rows = (this.get?.all(decisionId) ?? []) as Row[];
    const first = rows[0];
    if (first === undefined) return undefined;
    const items = rows.map(
      (r): ItemLookup => ({
        sku: r.sku,
        qty: r.qty,
        promised: r.promised === 1,
        node: r.node,
        outcome:
          r.status === null
            ? null
            : {
                status: r.status as OutcomeStatus,
                node: r.outcome_node ?? '',
                unitsPicked: r.units_picked ?? 0,
                dueAtMs: r.due_at_ms ?? 0,
                resolvedAtMs: r.resolved_at_ms ?? 0,
                onTime: r.on_time === 1,
              },
      }),
    );
    const promised = items.filter((i) => i.promised);
    const waiting = promised.some((i) => i.outcome === null);
    const state: DecisionOutcomeState =
      promised.length === 0
        ? 'nothing-promised'
        : !waiting
          ? 'resolved'
          : first.close_at_ms <= watermarkMs
            ? 'unresolved'
            : 'pending';
    return { decisionId, tsMs: first.ts_ms, windowClosesAtMs: first.close_at_ms, state, items };
  }
}

/** The wire shape (snake_case). */
export function outcomeLookupToJson(l: DecisionOutcomeLookup): Record<string, unknown> {
  return {
    decision_id: l.decisionId,
    ts_ms: l.tsMs,
    window_closes_at_ms: l.windowClosesAtMs,
    state: l.state,
    items: l.items.map((i) => ({
      sku: i.sku,
      qty: i.qty,
      promised: i.promised,
      node: i.node,
      outcome:
        i.outcome === null
          ? null
          : {
              status: i.outcome.status,
              node: i.outcome.node,
              units_picked: i.outcome.unitsPicked,
              due_at_ms: i.outcome.dueAtMs,
              resolved_at_ms: i.outcome.resolvedAtMs,
              on_time: i.outcome.onTime,
            },
    })),
  };
}
