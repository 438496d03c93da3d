/**
 * A background task repeated on a fixed period (directory refresh, lag
 * reports, liveness reads, decision-log flushes, commit coalescing): one
 * run at a time (a slow run delays the next instead of piling up), errors
 * reported and never thrown at the event loop, timers unref'd so they never
 * keep a process alive, `stop()` idempotent and waiting for a run in flight.
 */

export interface PeriodicOptions {
  /** Name for logs and errors. */
  name: string;
  intervalMs: number;
  run: () => Promise<void> | void;
  /** Called with each failed run's error (default: ignored; the next run retries). */
  onError?: (err: unknown) => void;
}

export class Periodic {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private stopped = true;

  constructor(private readonly opts: PeriodicOptions) {}

  get running(): boolean {
    return !this.stopped;
  }

  /** Starts the period (the first run comes after one interval); `runNow` runs once first and awaits it. */
  async start(runNow = false): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    if (runNow) await this.opts.run();
    this.schedule();
  }

  /** Runs once now, outside the period (a run already in flight is awaited instead). */
  async runOnce(): Promise<void> {
    if (this.inFlight !== null) return this.inFlight;
    this.inFlight = (async () => {
      try {
        await this.opts.run();
      } catch (err) {
        this.opts.onError?.(err);
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight !== null) await this.inFlight;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runOnce().then(() => this.schedule());
    }, this.opts.intervalMs);
    this.timer.unref();
  }
}
