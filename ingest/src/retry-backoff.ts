/**
 * Bounded exponential backoff for retrying a batch whose writes were not
 * acknowledged. Bounded in the delay, not in the attempts: a batch is never
 * skipped (that would lose stock facts), so the ingester keeps retrying,
 * reports unhealthy, and catches up when the dependency answers again.
 */

export const RETRY_INITIAL_BACKOFF_MS = 100;
export const RETRY_MAX_BACKOFF_MS = 5_000;
/** Each delay is drawn from [delay * (1 - JITTER), delay]: ingesters restarted together drift apart. */
export const RETRY_JITTER = 0.3;

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export class Backoff {
  private exponent = 0;
  private tries = 0;

  constructor(
    private readonly opts: BackoffOptions = {
      initialMs: RETRY_INITIAL_BACKOFF_MS,
      maxMs: RETRY_MAX_BACKOFF_MS,
    },
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt (ms). */
  next(): number {
    this.tries++;
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** this.exponent);
    if (base < this.opts.maxMs) this.exponent++;
    return Math.round(base * (1 - RETRY_JITTER * this.random()));
  }

  /** Delays handed out so far (= failed attempts). */
  get attempts(): number {
    return this.tries;
  }
}
