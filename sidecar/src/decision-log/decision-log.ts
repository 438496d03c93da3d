/**
 * The decision log (the engine's DecisionSink): records go through the
 * shared bounded buffer (bounded-batch-buffer.ts: `push` O(1), never waits,
 * a full buffer or a failed write drops and counts) and are serialized to
 * NDJSON off the request path, in batches.
 */
import type { DecisionSink } from '../decision/ports.js';
import { BoundedBatchBuffer } from './bounded-batch-buffer.js';
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
  private readonly buffer: BoundedBatchBuffer<DecisionLogRecord>;
  /** Called with the number of records dropped (buffer full, failed write). */
  onDrop: ((n: number) => void) | null = null;
  onWritten: ((n: number) => void) | null = null;

  constructor(
    private readonly sink: DecisionLogSink,
    capacity = DECISION_LOG_CAPACITY,
    flushMs = DECISION_LOG_FLUSH_MS,
  ) {
    this.buffer = new BoundedBatchBuffer<DecisionLogRecord>({
      name: 'decision-log-flush',
      capacity,
      flushMs,
      batch: DECISION_LOG_BATCH,
      deliver: (batch) => {
        let text = '';
        for (const r of batch) text += `${JSON.stringify(decisionLogToJson(r))}\n`;
        return this.sink.write(text);
      },
      onDropped: (n) => this.onDrop?.(n),
      onDelivered: (n) => this.onWritten?.(n),
    });
  }

  get stats(): DecisionLogStats {
    const s = this.buffer.stats;
    return { written: s.delivered, dropped: s.dropped, sinkErrors: s.sinkErrors };
  }

  /** Starts the periodic flush; idempotent. */
  start(): void {
    this.buffer.start();
  }

  /** Queues a record, or drops it (counted) when the buffer is full. Never throws, never waits. */
  push(r: DecisionLogRecord): void {
    this.buffer.push(r);
  }

  get pending(): number {
    return this.buffer.pending;
  }

  /** Hands queued records to the sink; concurrent calls share one flush. */
  flush(): Promise<void> {
    return this.buffer.flush();
  }

  /** Stops the periodic flush, hands the sink what is queued, then closes it. */
  async stop(): Promise<void> {
    await this.buffer.stop();
    await this.sink.close();
  }
}
