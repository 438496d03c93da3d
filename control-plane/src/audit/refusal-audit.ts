/**
 * How refusals reach the audit log without letting a flood of them slow
 * real changes or fill the database (finding 4: one row per anonymous
 * request, ~1,000 rows/s, changes slowed from ~5 ms to 60-100 ms).
 *
 * Per minute and per key, the first refusals are audited one by one, with
 * every detail; the rest are only counted in memory and written as ONE row
 * per key and minute (action AGGREGATE_ACTION, `detail.count`, counts by
 * code and action) once the minute is over. The one-by-one rows are
 * written in batches (one transaction for all refusals that arrived while
 * the previous batch was being written), and the refused caller does not
 * wait for them: a refusal costs no commit of its own. Reads of the audit
 * log `drain()` first, so they always see every refusal answered so far. The key is the source address
 * for requests without a valid token (`anonymous`), the token name
 * otherwise. So the audit log grows by at most
 * (budget + 1) rows per source (or principal) per minute, whatever the
 * request rate. Accepted changes are never aggregated: they are written in
 * their change's own transaction (ChangeService).
 */
import { Periodic } from '@mercato/platform/periodic';
import type { AuditEntry } from '../store/audit-queries.js';
import type { ControlStore } from '../store/control-store.js';

export const ANONYMOUS_ACTOR = 'anonymous';
export const AGGREGATE_ACTION = 'audit.refusals';
/** Refusals audited one by one per source and minute, for requests without a valid token. */
export const ANONYMOUS_DETAIL_PER_MINUTE = 30;
/** Refusals audited one by one per token and minute (wrong role, bad body, conflicts). */
export const PRINCIPAL_DETAIL_PER_MINUTE = 120;
/** Keys tracked per minute; refusals beyond it are counted under OVERFLOW_KEY. */
export const MAX_KEYS_PER_MINUTE = 10_000;
export const OVERFLOW_KEY = 'other';
/** How often finished minutes are written out. */
export const FLUSH_INTERVAL_MS = 5_000;
const MINUTE_MS = 60_000;
/** Rows waiting for their batch, at most; past it (the store is down or slow) refusals are only counted. */
export const MAX_PENDING_ROWS = 10_000;

export type RefusalFate = 'audited' | 'aggregated';

interface Tally {
  minute: number;
  actor: string;
  role: AuditEntry['role'];
  source: string;
  /** All refusals of the key in the minute, audited one by one or not. */
  total: number;
  byCode: Record<string, number>;
  byAction: Record<string, number>;
}

export interface RefusalAuditOptions {
  store: ControlStore;
  clock?: () => number;
  anonymousPerMinute?: number;
  principalPerMinute?: number;
  /** A row that could not be written (the store is down). */
  onWriteFailed?: (entry: AuditEntry, err: Error) => void;
}

export class RefusalAudit {
  private readonly tallies = new Map<string, Tally>();
  private pendingRows: AuditEntry[] = [];
  private writing: Promise<void> | null = null;
  private readonly flusher: Periodic;
  private readonly clock: () => number;

  constructor(private readonly opts: RefusalAuditOptions) {
    this.clock = opts.clock ?? Date.now;
    this.flusher = new Periodic({
      name: 'refusal-audit-flush',
      intervalMs: FLUSH_INTERVAL_MS,
      run: () => this.flush(false),
    });
  }

  async start(): Promise<void> {
    await this.flusher.start();
  }

  /** Stops the timer and writes every tally, the current minute's included. */
  async stop(): Promise<void> {
    await this.flusher.stop();
    await this.flush(true);
  }

  /**
   * One refusal: queued for the next batch (within the key's budget for the
   * minute) or counted for the minute's aggregate row. Returns at once;
   * `source` is the caller's address.
   */
  record(entry: AuditEntry, source: string): RefusalFate {
    const anonymous = entry.actor === ANONYMOUS_ACTOR;
    const minute = Math.floor(entry.atMs / MINUTE_MS);
    let key = `${minute}|${anonymous ? `src:${source}` : `tok:${entry.actor}`}`;
    let t = this.tallies.get(key);
    if (t === undefined) {
      if (this.tallies.size >= MAX_KEYS_PER_MINUTE) key = `${minute}|${OVERFLOW_KEY}`;
      t = this.tallies.get(key);
      if (t === undefined) {
        t = {
          minute,
          actor: key.endsWith(OVERFLOW_KEY) ? OVERFLOW_KEY : entry.actor,
          role: entry.role,
          source,
          total: 0,
          byCode: {},
          byAction: {},
        };
        this.tallies.set(key, t);
      }
    }
    t.total++;
    const budget = anonymous
      ? (this.opts.anonymousPerMinute ?? ANONYMOUS_DETAIL_PER_MINUTE)
      : (this.opts.principalPerMinute ?? PRINCIPAL_DETAIL_PER_MINUTE);
    if (t.total <= budget && !key.endsWith(OVERFLOW_KEY) && this.pendingRows.length < MAX_PENDING_ROWS) {
      this.pendingRows.push(entry);
      this.kick();
      return 'audited';
    }
    const code = entry.code ?? 'none';
    t.byCode[code] = (t.byCode[code] ?? 0) + 1;
    t.byAction[entry.action] = (t.byAction[entry.action] ?? 0) + 1;
    return 'aggregated';
  }

  /** Refusals counted but not yet written (metrics, tests). */
  get pending(): number {
    let n = this.pendingRows.length;
    for (const t of this.tallies.values()) n += sumOf(t.byCode);
    return n;
  }

  /** Resolves once every refusal audited one by one so far is written (audit reads call it first). */
  async drain(): Promise<void> {
    while (this.writing !== null || this.pendingRows.length > 0) {
      if (this.writing === null) this.kick();
      await this.writing;
    }
  }

  /** Writes the aggregate row of every finished minute (every minute when `all`), after the pending rows. */
  async flush(all: boolean): Promise<void> {
    await this.drain();
    const current = Math.floor(this.clock() / MINUTE_MS);
    const rows: AuditEntry[] = [];
    for (const [key, t] of this.tallies) {
      if (!all && t.minute >= current) continue;
      this.tallies.delete(key);
      const aggregated = sumOf(t.byCode);
      if (aggregated > 0) rows.push(aggregateRow(t, aggregated));
    }
    if (rows.length === 0) return;
    try {
      await this.opts.store.write(async (tx) => {
        for (const r of rows) await tx.audit.append(r);
      });
    } catch (err) {
      for (const r of rows) this.opts.onWriteFailed?.(r, err as Error);
    }
  }

  /** Starts writing the pending rows in one transaction unless a batch is being written (it re-kicks when done). */
  private kick(): void {
    if (this.writing !== null) return;
    const batch = this.pendingRows;
    if (batch.length === 0) return;
    this.pendingRows = [];
    this.writing = this.opts.store
      .write(async (tx) => {
        for (const e of batch) await tx.audit.append(e);
      })
      .catch((err: Error) => {
        for (const e of batch) this.opts.onWriteFailed?.(e, err);
      })
      .finally(() => {
        this.writing = null;
        this.kick();
      });
  }
}

function aggregateRow(t: Tally, aggregated: number): AuditEntry {
  const top = Object.entries(t.byCode).sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  const at = new Date(t.minute * MINUTE_MS).toISOString();
  const who = t.actor === ANONYMOUS_ACTOR ? `source ${t.source}` : `token ${t.actor}`;
  return {
    atMs: t.minute * MINUTE_MS,
    actor: t.actor,
    role: t.role,
    action: AGGREGATE_ACTION,
    target: t.actor === ANONYMOUS_ACTOR ? `source=${t.source}` : t.actor,
    reason: null,
    outcome: 'refused',
    code: top,
    message: `${aggregated} more refusals from ${who} in the minute from ${at} (${t.total - aggregated} audited one by one)`,
    detail: {
      count: aggregated,
      total: t.total,
      source: t.source,
      minute_start: at,
      by_code: t.byCode,
      by_action: t.byAction,
    },
    snapshotVersion: null,
  };
}

function sumOf(counts: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(counts)) n += v;
  return n;
}
