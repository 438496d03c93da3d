/**
 * A consecutive-failure circuit breaker (DESIGN.md §6 "Redis unreachable:
 * circuit breaker"). Closed: calls go through. After FAILURES_TO_OPEN
 * failures in a row it opens: callers skip the dependency (answering from
 * their fallback at once instead of paying a timeout per request) for
 * OPEN_MS, then one probe call is let through; its success closes the
 * circuit, its failure opens it again.
 */

export const FAILURES_TO_OPEN = 5;
export const OPEN_MS = 1_000;

export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  private failures = 0;
  private openedAtMs = 0;
  private probing = false;
  state: BreakerState = 'closed';

  constructor(
    private readonly failuresToOpen = FAILURES_TO_OPEN,
    private readonly openMs = OPEN_MS,
  ) {}

  /** Whether a call may go to the dependency now. In half-open, only one probe at a time. */
  allow(nowMs: number): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open' && nowMs - this.openedAtMs >= this.openMs) this.state = 'half-open';
    if (this.state === 'half-open' && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    this.state = 'closed';
  }

  failure(nowMs: number): void {
    this.probing = false;
    this.failures++;
    if (this.state === 'half-open' || this.failures >= this.failuresToOpen) {
      this.state = 'open';
      this.openedAtMs = nowMs;
    }
  }

  /** True while the dependency is considered down (open or probing). */
  get degraded(): boolean {
    return this.state !== 'closed';
  }
}
