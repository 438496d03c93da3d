/**
 * The decision log's bounded asynchronous buffer. `push` is O(1) and never
 * waits: records queue in memory and a timer hands them to the sink in
 * batches, serialized off the request path. When the buffer is full (the
 * sink is slow or down) new records are dropped and counted, so logging can
 * never add latency or memory without bound to a decision.
 */
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

export class DecisionLog {
  private queue: DecisionLogRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  readonly stats: DecisionLogStats = { written: 0, dropped: 0, sinkErrors: 0 };
  onDrop: (() => void) | null = null;
  onWritten: ((n: number) => void) | null = null;

  constructor(
    private readonly sink: DecisionLogSink,
    private readonly capacity = DECISION_LOG_CAPACITY,
    private readonly flushMs = DECISION_LOG_FLUSH_MS,
  ) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      void this.flush();
    }, this.flushMs);
    this.timer.unref();
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

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
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
