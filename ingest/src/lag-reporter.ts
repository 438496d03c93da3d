/**
 * The ingester's once-a-second loop: refresh offsets from the brokers, turn
 * positions into lag reports, publish them (metrics and the state store the
 * sidecar reads), and publish node liveness. The broker refresh runs in the
 * background and never blocks a report: while brokers are unreachable the
 * reports keep going out (with growing lag) and health says why.
 */

import type { IngestStateStore } from '@mercato/features/store-ports';
import { SOURCES } from '@mercato/proto/v1/inventory-event';
import type { TopicMeta } from '@mercato/proto/v1/stream-lag';
import type { Logger } from 'pino';
import { INGEST_ERR } from './ingest-errors.js';
import type { IngestHealth } from './ingest-health.js';
import type { IngestMetrics } from './ingest-metrics.js';
import type { LagTracker } from './lag-tracker.js';
import type { NodeLiveness } from './node-liveness.js';
import type { EventSource } from './ports.js';

export interface LagReporterDeps {
  topic: string;
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
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private reporting = false;
  private published = new Set<number>();

  constructor(private readonly deps: LagReporterDeps) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      void this.tick();
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops the timer. A broker refresh in flight is not awaited: with brokers down it can take a minute. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Starts a broker refresh unless one is running; resolves when that refresh ends. */
  refreshOffsets(): Promise<void> {
    this.refreshing ??= (async () => {
      const { source, lag, health, metrics } = this.deps;
      try {
        const [high, committed] = await Promise.all([source.highWatermarks(), source.committedOffsets()]);
        lag.onOffsets(high, committed);
        health.up('broker');
      } catch (err) {
        const code = INGEST_ERR.BROKER_UNAVAILABLE.code;
        metrics.dependencyErrors.inc({ dependency: 'broker', code });
        health.down('broker', code, err instanceof Error ? err.message : String(err));
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** One round: background refresh, then publish what is known now. */
  async tick(): Promise<void> {
    void this.refreshOffsets();
    if (this.reporting) return;
    this.reporting = true;
    try {
      await this.publish();
    } finally {
      this.reporting = false;
    }
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
      this.deps.log.debug(
        { err: err instanceof Error ? err.message : String(err) },
        'lag report not written',
      );
    }
  }
}
