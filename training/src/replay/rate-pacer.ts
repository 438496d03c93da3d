/**
 * Holds a producer to a target rate: `await pacer.take(n)` returns once `n`
 * more events fit the schedule. The schedule is absolute (start time + count
 * / rate), so short stalls are caught up and the long-run rate is exact.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class RatePacer {
  private sent = 0;
  private readonly startMs: number;

  /** `perSecond` <= 0 means no limit. */
  constructor(
    private readonly perSecond: number,
    private readonly clock: () => number = () => performance.now(),
    private readonly wait: (ms: number) => Promise<unknown> = sleep,
  ) {
    this.startMs = clock();
  }

  async take(n: number): Promise<void> {
    this.sent += n;
    if (this.perSecond <= 0) return;
    const dueMs = this.startMs + (this.sent / this.perSecond) * 1000;
    const aheadMs = dueMs - this.clock();
    if (aheadMs > 1) await this.wait(aheadMs);
  }
}
