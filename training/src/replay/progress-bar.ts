/**
 * A progress line on stderr, redrawn in place on a terminal and printed as
 * plain lines (at most one per LOG_INTERVAL_MS) when stderr is a file or a
 * pipe, so CI logs stay readable.
 */

export const PROGRESS_REDRAW_MS = 200;
export const PROGRESS_LOG_INTERVAL_MS = 2_000;
const BAR_WIDTH = 30;

export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

export class ProgressBar {
  private lastDrawMs = 0;
  private readonly startMs: number;

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly out: ProgressSink = process.stderr,
    private readonly clock: () => number = Date.now,
  ) {
    this.startMs = clock();
  }

  /** Call as often as you like; it draws only when due. */
  update(done: number): void {
    const now = this.clock();
    const every = this.out.isTTY === true ? PROGRESS_REDRAW_MS : PROGRESS_LOG_INTERVAL_MS;
    if (now - this.lastDrawMs < every) return;
    this.lastDrawMs = now;
    this.draw(done, now, false);
  }

  finish(done: number): void {
    this.draw(done, this.clock(), true);
  }

  private draw(done: number, now: number, final: boolean): void {
    const share = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const filled = Math.round(share * BAR_WIDTH);
    const elapsedS = Math.max(0.001, (now - this.startMs) / 1000);
    const rate = done / elapsedS;
    const etaS = rate > 0 && this.total > done ? (this.total - done) / rate : 0;
    const line =
      `${this.label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ` +
      `${(share * 100).toFixed(1).padStart(5)}% ${done.toLocaleString('en-US')}/${this.total.toLocaleString('en-US')} ` +
      `${Math.round(rate).toLocaleString('en-US')}/s ${final ? `in ${elapsedS.toFixed(1)}s` : `eta ${etaS.toFixed(0)}s`}`;
    if (this.out.isTTY === true) this.out.write(`\r${line}${final ? '\n' : ''}`);
    else this.out.write(`${line}\n`);
  }
}
