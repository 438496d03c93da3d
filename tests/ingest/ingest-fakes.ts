/** In-memory stand-ins for the ingester's ports, with switches for failure injection. */
import { pino } from 'pino';
import { FeatureState } from '../../features/src/feature-state.js';
import type { ApplyCounts, FeatureSink, IngestStateStore } from '../../features/src/store-ports.js';
import { BatchProcessor, type BatchProcessorOptions } from '../../ingest/src/batch-processor.js';
import { IngestHealth } from '../../ingest/src/ingest-health.js';
import { createIngestMetrics, type IngestMetrics } from '../../ingest/src/ingest-metrics.js';
import { LagTracker } from '../../ingest/src/lag-tracker.js';
import { NodeLiveness } from '../../ingest/src/node-liveness.js';
import { PendingGaps } from '../../ingest/src/pending-gaps.js';
import type {
  BatchControl,
  DeadLetter,
  DeadLetterSink,
  SourceBatch,
  SourceMessage,
} from '../../ingest/src/ports.js';
import { encodeEvent, eventKey, type InventoryEvent } from '../../proto/v1/inventory-event.js';
import type { LagReport, TopicMeta } from '../../proto/v1/stream-lag.js';

/** FeatureState behind the FeatureSink port; `failNext` makes the next calls reject. */
export class FakeStore implements FeatureSink {
  readonly state = new FeatureState();
  failNext = 0;
  calls = 0;
  /** When set, applyEvents waits for it (to observe what happens before the acknowledgement). */
  gate: Promise<void> | null = null;

  async applyEvents(events: readonly InventoryEvent[]): Promise<ApplyCounts> {
    this.calls++;
    if (this.gate !== null) await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('redis is gone'), { code: 'ECONNREFUSED' });
    }
    const counts: ApplyCounts = {
      applied: 0,
      duplicates: 0,
      gapsSkipped: 0,
      heartbeats: 0,
      skusWithPending: [],
    };
    const before = this.state.stats.applied;
    const touched = new Set<string>();
    for (const e of events) {
      const outcome = this.state.apply(e);
      if (outcome === 'duplicate') counts.duplicates++;
      else if (outcome === 'heartbeat') counts.heartbeats++;
      else touched.add(e.sku);
    }
    counts.applied = this.state.stats.applied - before;
    counts.skusWithPending = [...touched].filter((sku) => this.hasPending(sku)).sort();
    return counts;
  }

  async flushGaps(skus: readonly string[], watermarkMs: number): Promise<ApplyCounts> {
    const skipped = this.state.flushGaps(watermarkMs);
    return {
      applied: 0,
      duplicates: 0,
      gapsSkipped: skipped,
      heartbeats: 0,
      skusWithPending: skus.filter((s) => this.hasPending(s)),
    };
  }

  private hasPending(sku: string): boolean {
    for (const [key] of this.state.entries()) {
      if (key.startsWith(`${sku}|`) && this.state.pendingCount(sku, key.slice(sku.length + 1)) > 0)
        return true;
    }
    return false;
  }
}

export class FakeDeadLetters implements DeadLetterSink {
  readonly sent: DeadLetter[] = [];
  failNext = 0;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('dlq topic unavailable');
    }
    this.sent.push(...letters);
  }
}

export class FakeStateStore implements IngestStateStore {
  readonly pending = new Map<number, Set<string>>();
  lag: { meta: TopicMeta | null; reports: readonly LagReport[] } | null = null;
  async writeLag(meta: TopicMeta | null, reports: readonly LagReport[]): Promise<void> {
    this.lag = { meta, reports };
  }
  async pendingSkus(partition: number): Promise<string[]> {
    return [...(this.pending.get(partition) ?? [])];
  }
  async markPending(partition: number, add: readonly string[], remove: readonly string[]): Promise<void> {
    const set = this.pending.get(partition) ?? new Set<string>();
    for (const s of add) set.add(s);
    for (const s of remove) set.delete(s);
    this.pending.set(partition, set);
  }
}

/** A BatchControl that records what the processor did with it. */
export class FakeControl implements BatchControl {
  heartbeats = 0;
  commits: string[] = [];
  active = true;
  failCommit = false;
  /** Called on every heartbeat (e.g. to revoke the partition mid-retry). */
  onHeartbeat: () => void = () => undefined;
  async heartbeat(): Promise<void> {
    this.heartbeats++;
    this.onHeartbeat();
  }
  isActive(): boolean {
    return this.active;
  }
  async commit(lastOffset: string): Promise<void> {
    if (this.failCommit) throw new Error('coordinator not available');
    this.commits.push(lastOffset);
  }
}

export const TOPIC = 'inventory.mutations.test';

/** Records for events, keyed by eventKey, offsets from `firstOffset`. */
export function batchOf(
  items: readonly (InventoryEvent | SourceMessage)[],
  partition = 0,
  firstOffset = 0,
): SourceBatch {
  const messages = items.map((it, i): SourceMessage => {
    if ('offset' in it) return it;
    return {
      offset: String(firstOffset + i),
      key: Buffer.from(eventKey(it)),
      value: Buffer.from(encodeEvent(it)),
      timestampMs: it.eventTimeMs,
    };
  });
  return { topic: TOPIC, partition, messages, highWatermark: String(firstOffset + items.length) };
}

export interface ProcessorRig {
  processor: BatchProcessor;
  store: FakeStore;
  deadLetters: FakeDeadLetters;
  state: FakeStateStore;
  metrics: IngestMetrics;
  health: IngestHealth;
  lag: LagTracker;
  sleeps: number[];
  now: { ms: number };
}

export function processorRig(opts: Partial<BatchProcessorOptions> = {}, nowMs = Date.now()): ProcessorRig {
  const now = { ms: nowMs };
  const clock = () => now.ms;
  const store = new FakeStore();
  const deadLetters = new FakeDeadLetters();
  const state = new FakeStateStore();
  const metrics = createIngestMetrics();
  const health = new IngestHealth(metrics, clock);
  health.setState('running');
  const lag = new LagTracker('test', clock);
  lag.assign([0, 1, 2, 3]);
  const sleeps: number[] = [];
  const processor = new BatchProcessor(
    {
      store,
      deadLetters,
      gaps: new PendingGaps(store, state),
      lag,
      liveness: new NodeLiveness(),
      metrics,
      health,
      log: pino({ level: 'silent' }),
      clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        now.ms += ms;
      },
    },
    {
      maxApplyChunkEvents: opts.maxApplyChunkEvents ?? 2_000,
      backoff: opts.backoff ?? { initialMs: 100, maxMs: 1_000 },
      retryHeartbeatEveryMs: opts.retryHeartbeatEveryMs ?? 250,
    },
  );
  return { processor, store, deadLetters, state, metrics, health, lag, sleeps, now };
}
