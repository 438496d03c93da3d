/**
 * Audit retention: entries older than `retentionDays` are deleted, and
 * beyond `maxRows` the oldest go first. Runs at start and every
 * RETENTION_INTERVAL_MS (a platform Periodic: one run at a time); each run
 * that deleted something leaves one `audit.prune` entry saying how much and
 * why, so the log records its own trimming. Export first
 * (`atpctl audit export --since ...`) to keep a longer history elsewhere.
 */
import { Periodic } from '@mercato/platform/periodic';
import type { AuditPruned } from '../store/audit-queries.js';
import { type ControlStore, SYSTEM_ACTOR } from '../store/control-store.js';

export const AUDIT_RETENTION_DAYS = 400;
export const AUDIT_MAX_ROWS = 5_000_000;
export const RETENTION_INTERVAL_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface AuditRetentionOptions {
  store: ControlStore;
  retentionDays: number;
  maxRows: number;
  clock?: () => number;
  intervalMs?: number;
  onError?: (err: unknown) => void;
  onPruned?: (p: AuditPruned) => void;
}

export class AuditRetention {
  private readonly periodic: Periodic;
  private readonly clock: () => number;

  constructor(private readonly opts: AuditRetentionOptions) {
    this.clock = opts.clock ?? Date.now;
    this.periodic = new Periodic({
      name: 'audit-retention',
      intervalMs: opts.intervalMs ?? RETENTION_INTERVAL_MS,
      run: async () => {
        await this.runOnce();
      },
      ...(opts.onError === undefined ? {} : { onError: opts.onError }),
    });
  }

  async start(): Promise<void> {
    await this.periodic.start();
    await this.periodic.runOnce();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One pass; returns what it deleted. */
  async runOnce(): Promise<AuditPruned> {
    const nowMs = this.clock();
    const olderThanMs = nowMs - this.opts.retentionDays * DAY_MS;
    const pruned = await this.opts.store.write(async (tx) => {
      const p = await tx.audit.prune(olderThanMs, this.opts.maxRows);
      if (p.byAge + p.byCount > 0) {
        await tx.audit.append({
          atMs: nowMs,
          actor: SYSTEM_ACTOR,
          role: null,
          action: 'audit.prune',
          target: 'audit_log',
          reason: `retention: ${this.opts.retentionDays} days, at most ${this.opts.maxRows} entries`,
          outcome: 'accepted',
          code: null,
          message: null,
          detail: {
            deleted_by_age: p.byAge,
            deleted_by_count: p.byCount,
            older_than: new Date(olderThanMs).toISOString(),
          },
          snapshotVersion: null,
        });
      }
      return p;
    });
    if (pruned.byAge + pruned.byCount > 0) this.opts.onPruned?.(pruned);
    return pruned;
  }
}
