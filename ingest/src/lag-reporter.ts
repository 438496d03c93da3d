/**
 * The ingester's once-a-second loop: refresh offsets from the brokers, turn
 * positions into lag reports, publish them (metrics and the state store the
 * sidecar reads), and publish node liveness. The broker refresh runs in the
 * background and never blocks a report: while brokers are unreachable the
 * reports keep going out (with growing lag) and health says why.
 *
 * Each refresh also sets the group's total lag over every partition of the
 * topic (`atp_ingest_group_lag_records{group,topic}`), computed from the
 * brokers' answers, not from this member's share: every member reports the
 * same figure, so an autoscaler reads max() over the pods and it does not
 * dip while partitions move during a rebalance.
 */

import type { IngestStateStore } from '@mercato/features/store-ports';
import type { Logger } from '@mercato/platform/logger';
import { Periodic } from '@mercato/platform/periodic';
import { SOURCES } from '@mercato/proto/v1/inventory-event';
import { offsetDiff, type TopicMeta } from '@mercato/proto/v1/stream-lag';
import { INGEST_ERR } from './ingest-errors.js';
import type { IngestHealth } from './ingest-health.js';
import type { IngestMetrics } from './ingest-metrics.js';
import type { LagTracker } from './lag-tracker.js';
import type { NodeLiveness } from './node-liveness.js';
import type { EventSource } from './ports.js';

export interface LagReporterDeps {
  topic: string;
  groupId: string;
  source: EventSource;
  state: IngestStateStore;
  lag: LagTracker;
  liveness: NodeLiveness;
  metrics: IngestMetrics;
  health: IngestHealth;
  log: Logger;
  clock: () => number;
}

export class LagReporter {
  private periodic: Periodic | null = null;
  private refreshing: Promise<void> | null = null;
  private published = new Set<number>();

  constructor(private readonly deps: LagReporterDeps) {}

  /** Reports every `intervalMs` until stop(); idempotent. */
  async start(intervalMs: number): Promise<void> {
    if (this.periodic !== null) return;
    this.periodic = new Periodic({
      name: 'lag-report',
      intervalMs,
      run: () => this.tick(),
      onError: (err) => this.deps.log.debug({ err: messageOf(err) }, 'lag report round failed'),
    });
    await this.periodic.start();
  }

  /**
   * Stops reporting; a report being written is awaited (bounded by the
   * store's command timeout). A broker refresh in flight is not: with brokers
   * down it can take a minute, and nothing waits for its result.
   */
  async stop(): Promise<void> {
    const periodic = this.periodic;
    this.periodic = null;
    await periodic?.stop();
  }

  /** Starts a broker refresh unless one is running; resolves when that refresh ends. */
  refreshOffsets(): Promise<void> {
    this.refreshing ??= (async () => {
      const { source, lag, health, metrics } = this.deps;
      try {
        const [high, committed] = await Promise.all([source.highWatermarks(), source.committedOffsets()]);
        lag.onOffsets(high, committed);
        metrics.groupLagRecords.set(
          { group: this.deps.groupId, topic: this.deps.topic },
          groupLagRecords(high, committed),
        );
        health.up('broker');
      } catch (err) {
        const code = INGEST_ERR.BROKER_UNAVAILABLE.code;
        metrics.dependencyErrors.inc({ dependency: 'broker', code });
        health.down('broker', code, messageOf(err));
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** One round: background refresh, then publish what is known now (Periodic runs one round at a time). */
  async tick(): Promise<void> {
    void this.refreshOffsets();
    await this.publish();
  }

  async publish(): Promise<void> {
    const { lag, metrics, liveness, state, clock, topic } = this.deps;
    const reports = lag.reports();
    const owned = new Set<number>();
    for (const r of reports) {
      owned.add(r.partition);
      metrics.consumerLagMessages.set({ partition: String(r.partition) }, r.offsetLag);
      metrics.consumerLagSeconds.set({ partition: String(r.partition) }, r.lagMs / 1000);
    }
    // Partitions now owned by another ingester are reported there, not here.
    for (const p of this.published) {
      if (!owned.has(p)) {
        metrics.consumerLagMessages.remove({ partition: String(p) });
        metrics.consumerLagSeconds.remove({ partition: String(p) });
      }
    }
    this.published = owned;
    const now = clock();
    const summary = liveness.summary(now);
    for (const s of SOURCES) {
      metrics.heartbeatAgeMax.set({ source: s }, summary[s].maxAgeMs / 1000);
      metrics.staleNodes.set({ source: s }, summary[s].stale);
      metrics.nodesTracked.set({ source: s }, summary[s].tracked);
    }
    const meta: TopicMeta | null =
      lag.partitionCount > 0 ? { topic, partitionCount: lag.partitionCount, updatedAtMs: now } : null;
    try {
      await state.writeLag(meta, reports);
    } catch (err) {
      // The sidecar then sees the reports age and assumes growing lag: the safe direction.
      metrics.dependencyErrors.inc({ dependency: 'state_store', code: INGEST_ERR.STORE_UNAVAILABLE.code });
      this.deps.log.debug({ err: messageOf(err) }, 'lag report not written');
    }
  }
}

/**
 * Records of the topic the group has not committed past: high watermark
 * minus committed offset, summed over every partition. A partition the
 * group never committed counts whole (from offset 0: its retention start is
 * not asked for, so a long-lived uncommitted partition is overstated, never
 * understated).
 */
export function groupLagRecords(high: Map<number, string>, committed: Map<number, string>): number {
  let total = 0;
  for (const [partition, h] of high) total += offsetDiff(h, committed.get(partition) ?? '0');
  return total;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
