/**
 * The bounded asynchronous buffer between the hot path and a slow sink, as
 * the decision log, the decision stream and the feature audit all need it:
 * `push` is O(1) and never waits or throws; a periodic flush (platform
 * Periodic) hands batches to `deliver` off the request path. A full buffer
 * or a failed delivery drops records and counts them: retrying would grow
 * memory while the sink is down, and waiting would add latency to decisions.
 */
import { Periodic } from '@mercato/platform/periodic';

export interface BoundedBatchBufferOptions<T> {
  /** Name of the periodic flush (logs). */
  name: string;
  /** Hands one batch to the sink; resolves when the sink accepted it, rejects to drop it. */
  deliver: (batch: readonly T[]) => Promise<void>;
  capacity: number;
  flushMs: number;
  /** Records per delivery. */
  batch: number;
  /** `stop` waits at most this long for the last deliveries (default: as long as they take). */
  stopFlushMs?: number;
  /** Called with the number of records dropped (buffer full, failed delivery, late at stop). */
  onDropped?: (n: number) => void;
  /** Called with the number of records a delivery accepted. */
  onDelivered?: (n: number) => void;
}

export interface BoundedBatchBufferStats {
  delivered: number;
  dropped: number;
  sinkErrors: number;
}

export class BoundedBatchBuffer<T> {
  private queue: T[] = [];
  private readonly flusher: Periodic;
  private flushing: Promise<void> | null = null;
  readonly stats: BoundedBatchBufferStats = { delivered: 0, dropped: 0, sinkErrors: 0 };

  constructor(private readonly opts: BoundedBatchBufferOptions<T>) {
    this.flusher = new Periodic({ name: opts.name, intervalMs: opts.flushMs, run: () => this.flush() });
  }

  /** Starts the periodic flush; idempotent. */
  start(): void {
    void this.flusher.start();
  }

  /** Queues a record, or drops it (counted) when the buffer is full. Never throws, never waits. */
  push(r: T): void {
    if (this.queue.length >= this.opts.capacity) {
      this.dropped(1);
      return;
    }
    this.queue.push(r);
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Delivers queued records; concurrent calls share one flush. */
  flush(): Promise<void> {
    if (this.flushing !== null) return this.flushing;
    if (this.queue.length === 0) return Promise.resolve();
    this.flushing = this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Stops the periodic flush and delivers what is queued (within stopFlushMs when set); what is late is dropped. */
  async stop(): Promise<void> {
    await this.flusher.stop();
    const limit = this.opts.stopFlushMs;
    if (limit === undefined) {
      await this.flush();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), limit);
    });
    const late = (await Promise.race([this.flush(), timedOut])) === 'late';
    clearTimeout(timer);
    if (late) {
      // The in-flight batch is counted by drain when it fails; what is still queued is lost here.
      this.dropped(this.queue.length);
      this.queue = [];
    }
  }

  private dropped(n: number): void {
    if (n === 0) return;
    this.stats.dropped += n;
    this.opts.onDropped?.(n);
  }

  private async drain(): Promise<void> {
    const size = this.opts.batch;
    while (this.queue.length > 0) {
      const batch = this.queue.length <= size ? this.queue : this.queue.slice(0, size);
      this.queue = batch === this.queue ? [] : this.queue.slice(size);
      try {
        await this.opts.deliver(batch);
        this.stats.delivered += batch.length;
        this.opts.onDelivered?.(batch.length);
      } catch {
        this.stats.sinkErrors++;
        this.dropped(batch.length);
      }
    }
  }
}
