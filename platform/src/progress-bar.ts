/**
 * One progress line on stderr per long step: redrawn in place on a terminal
 * at most PROGRESS_REDRAW_MS apart, or one line per tenth when stderr is a
 * file or a pipe (CI logs stay short). Nothing here reaches stdout or any
 * output file, so timings never make a run non-deterministic.
 */

/** Redraws at most this often on a terminal (ms). */
export const PROGRESS_REDRAW_MS = 250;
const BAR_WIDTH = 28;

export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

export class ProgressBar {
  private lastDrawMs = Number.NEGATIVE_INFINITY;
  private lastTenth = -1;
  private readonly startMs = performance.now();
  private finished = false;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit = '',
    private readonly sink: ProgressSink = process.stderr,
  ) {}

  update(done: number, note = ''): void {
    if (this.finished) return;
    const now = performance.now();
    if (this.sink.isTTY === true) {
      if (now - this.lastDrawMs < PROGRESS_REDRAW_MS) return;
      this.lastDrawMs = now;
      this.sink.write(`\r${this.line(done, now, note)}\x1b[K`);
    } else {
      const tenth = Math.floor((10 * Math.min(done, this.total)) / Math.max(1, this.total));
      if (tenth === this.lastTenth) return;
      this.lastTenth = tenth;
      this.sink.write(`${this.line(done, now, note)}\n`);
    }
  }

  /** Final line with the elapsed time; returns the seconds taken. */
  done(note = ''): number {
    const now = performance.now();
    this.finished = true;
    const line = this.line(this.total, now, note);
    this.sink.write(this.sink.isTTY === true ? `\r${line}\x1b[K\n` : `${line}\n`);
    return (now - this.startMs) / 1000;
  }

  private line(done: number, now: number, note: string): string {
    const share = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(share * BAR_WIDTH);
    const secs = (now - this.startMs) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const eta = rate > 0 && share < 1 ? ` eta ${Math.ceil((this.total - done) / rate)}s` : '';
    return (
      `${this.label.padEnd(22)} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ` +
      `${done}/${this.total}${this.unit} ${secs.toFixed(1)}s${eta}${note === '' ? '' : ` ${note}`}`
    );
  }
}

/** Silent stand-in (tests). */
export const SILENT_SINK: ProgressSink = { write: () => undefined, isTTY: false };
