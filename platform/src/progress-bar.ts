/**
 * The one progress line of every long step (simulation, training, replay,
 * benchmarks), on stderr: redrawn in place on a terminal at most
 * PROGRESS_REDRAW_MS apart, or one line per tenth of the way when stderr is
 * a file or a pipe (CI logs stay short). Nothing here reaches stdout or any
 * output file, so timings never make a run non-deterministic.
 *
 *   memory [############----------------]  42.0% 5,040/12,000 events 0.4s 12,600/s eta 1s
 */

/** Redraws at most this often on a terminal (ms). */
export const PROGRESS_REDRAW_MS = 250;
/** Non-terminal sinks get a line each time another 1/PROGRESS_LOG_STEPS of the total is done. */
export const PROGRESS_LOG_STEPS = 10;
const BAR_WIDTH = 28;

export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

export class ProgressBar {
  private lastDrawMs = Number.NEGATIVE_INFINITY;
  private lastStep = -1;
  private readonly startMs: number;
  private finished = false;

  /**
   * @param label what is progressing (callers pad it when several bars should line up)
   * @param total units of work expected
   * @param unit suffix after the counts, e.g. ' events'
   * @param clock milliseconds, monotonic (tests pass a fake)
   */
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit = '',
    private readonly sink: ProgressSink = process.stderr,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.startMs = clock();
  }

  /** Call as often as you like; it draws only when due. `note` is appended to the line. */
  update(done: number, note = ''): void {
    if (this.finished) return;
    if (this.sink.isTTY === true) {
      const now = this.clock();
      if (now - this.lastDrawMs < PROGRESS_REDRAW_MS) return;
      this.lastDrawMs = now;
      this.sink.write(`\r${this.line(done, now, note)}\x1b[K`);
    } else {
      const step = Math.floor((PROGRESS_LOG_STEPS * Math.min(done, this.total)) / Math.max(1, this.total));
      if (step === this.lastStep) return;
      this.lastStep = step;
      this.sink.write(`${this.line(done, this.clock(), note)}\n`);
    }
  }

  /** Final line with the elapsed time (`count` = units actually done, the total by default); returns the seconds taken. */
  done(note = '', count = this.total): number {
    const now = this.clock();
    this.finished = true;
    const line = this.line(count, now, note);
    this.sink.write(this.sink.isTTY === true ? `\r${line}\x1b[K\n` : `${line}\n`);
    return (now - this.startMs) / 1000;
  }

  private line(done: number, now: number, note: string): string {
    const share = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(share * BAR_WIDTH);
    const secs = Math.max(0, (now - this.startMs) / 1000);
    const rate = secs > 0 ? done / secs : 0;
    const eta = rate > 0 && share < 1 ? ` eta ${Math.ceil((this.total - done) / rate)}s` : '';
    return (
      `${this.label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${(share * 100).toFixed(1).padStart(5)}% ` +
      `${count(done)}/${count(this.total)}${this.unit} ${secs.toFixed(1)}s ${count(Math.round(rate))}/s${eta}` +
      `${note === '' ? '' : ` ${note}`}`
    );
  }
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Silent stand-in (tests). */
export const SILENT_SINK: ProgressSink = { write: () => undefined, isTTY: false };
