/**
 * The decision log's bounded asynchronous buffer (the engine's
 * DecisionSink). `push` is O(1) and never waits: records queue in memory and
 * a periodic flush (platform Periodic) hands them to the sink in batches,
 * serialized off the request path. When the buffer is full (the sink is slow
 * or down) new records are dropped and counted, so logging can never add
 * latency or memory without bound to a decision.
 */
import { Periodic } from '@mercato/platform/periodic';
import type { DecisionSink } from '../decision/ports.js';
import { type DecisionLogRecord, decisionLogToJson } from './decision-log-record.js';

export const DECISION_LOG_CAPACITY = 16_384;
export const DECISION_LOG_FLUSH_MS = 200;
/** Records handed to the sink per write. */
export const DECISION_LOG_BATCH = 1_024;

/** Where serialized records go (one NDJSON line each). `write` resolves when the sink accepted them. */
export interface DecisionLogSink {
  write(lines: string): Promise<void>;
  close(): Promise<void>;
}

export interface DecisionLogStats {
  written: number;
  dropped: number;
  sinkErrors: number;
}

export class DecisionLog implements DecisionSink {
  private queue: DecisionLogRecord[] = [];
  private readonly flusher: Periodic;
  private flushing: Promise<void> | null = null;
  readonly stats: DecisionLogStats = { written: 0, dropped: 0, sinkErrors: 0 };
  onDrop: (() => void) | null = null;
  onWritten: ((n: number) => void) | null = null;

  constructor(
    private readonly sink: DecisionLogSink,
    private readonly capacity = DECISION_LOG_CAPACITY,
    flushMs = DECISION_LOG_FLUSH_MS,
  ) {
    this.flusher = new Periodic({ name: 'decision-log-flush', intervalMs: flushMs, run: () => this.flush() });
  }

  /** Starts the periodic flush; idempotent. */
  start(): void {
    void this.flusher.start();
  }

  /** Queues a record, or drops it (counted) when the buffer is full. Never throws, never waits. */
  push(r: DecisionLogRecord): void {
    if (this.queue.length >= this.capacity) {
      this.stats.dropped++;
      this.onDrop?.();
      return;
    }
    this.queue.push(r);
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Hands queued records to the sink; concurrent calls share one flush. */
  flush(): Promise<void> {
    if (this.flushing !== null) return this.flushing;
    if (this.queue.length === 0) return Promise.resolve();
    this.flushing = this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Stops the periodic flush, hands the sink what is queued, then closes it. */
  async stop(): Promise<void> {
    await this.flusher.stop();
    await this.flush();
    await this.sink.close();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch =
        this.queue.length <= DECISION_LOG_BATCH ? this.queue : this.queue.slice(0, DECISION_LOG_BATCH);
      this.queue = batch === this.queue ? [] : this.queue.slice(DECISION_LOG_BATCH);
      let text = '';
      for (const r of batch) text += `${JSON.stringify(decisionLogToJson(r))}\n`;
      try {
        await this.sink.write(text);
        this.stats.written += batch.length;
        this.onWritten?.(batch.length);
      } catch {
        // A failed write loses its batch (counted as dropped): retrying would grow memory while the sink is down.
        this.stats.sinkErrors++;
        this.stats.dropped += batch.length;
      }
    }
  }
}
