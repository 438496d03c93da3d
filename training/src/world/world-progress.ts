/**
 * The world's progress on stderr, through the platform's progress bar
 * (platform/src/progress-bar.ts): one bar per phase (warm-up, live, drain)
 * over its simulated minutes, redrawn in place on a terminal, one line per
 * tenth of the phase in a log; the note carries the world's counts. Wall
 * time only decides when to draw, never what the world does.
 *
 *   world live  [########------------]  40.0% 96/240 sim s 12.1s ... | checkouts 212 (3 in flight) | promised 61.3% | ...
 */
import { ProgressBar } from '@mercato/platform/progress-bar';
import type { WorldPhase, WorldTimeline } from './world-options.js';
import type { ProgressSink } from './world-ports.js';

/** Wall ms between two progress computations at least (the bar draws at its own pace). */
export const PROGRESS_EVERY_WALL_MS = 250;
const MS_PER_MIN = 60_000;
/** Bars count simulated seconds. */
const UNITS_PER_MIN = 60;

export interface ProgressState {
  phase: WorldPhase;
  simMs: number;
  events: number;
  checkouts: number;
  inFlight: number;
  waiting: number;
  unsettled: number;
  promised: number;
  shortPicked: number;
  outcomes: number;
}

export class WorldProgress {
  private lastWallMs = Number.NEGATIVE_INFINITY;
  private bar: { phase: WorldPhase; bar: ProgressBar; fromMs: number } | null = null;

  /** @param drainBoundMs simulated ms the drain may last (its bar's length). */
  constructor(
    private readonly sink: ProgressSink,
    private readonly timeline: WorldTimeline,
    private readonly drainBoundMs = 0,
    private readonly wallNow: () => number = () => performance.now(),
  ) {}

  /** Whether a line is due now (and, if so, counts it as written). */
  due(): boolean {
    const now = this.wallNow();
    if (now - this.lastWallMs < PROGRESS_EVERY_WALL_MS) return false;
    this.lastWallMs = now;
    return true;
  }

  line(s: ProgressState, final: boolean): void {
    const phase = s.phase === 'done' ? 'drain' : s.phase;
    const b = this.barFor(phase);
    const done = Math.max(0, Math.round(((s.simMs - b.fromMs) / MS_PER_MIN) * UNITS_PER_MIN));
    const note = this.note(s);
    if (final) {
      b.bar.done(note, done);
      this.bar = null;
    } else b.bar.update(done, note);
  }

  private barFor(phase: WorldPhase): { bar: ProgressBar; fromMs: number } {
    if (this.bar !== null && this.bar.phase === phase) return this.bar;
    // The previous phase's bar ends where the world left it.
    const t = this.timeline;
    const [fromMs, untilMs] =
      phase === 'live'
        ? [t.liveFromMs, t.liveUntilMs]
        : phase === 'drain'
          ? [t.liveUntilMs, t.liveUntilMs + this.drainBoundMs]
          : [t.startMs, t.liveFromMs];
    const total = Math.max(1, Math.round(((untilMs - fromMs) / MS_PER_MIN) * UNITS_PER_MIN));
    const bar = new ProgressBar(`world ${phase.padEnd(7)}`, total, ' sim s', this.sink);
    this.bar = { phase, bar, fromMs };
    return this.bar;
  }

  private note(s: ProgressState): string {
    return [
      `| events ${s.events.toLocaleString('en-US')}`,
      `checkouts ${s.checkouts.toLocaleString('en-US')} (${s.inFlight} in flight, ${s.waiting} waiting)`,
      `promised ${percent(s.promised, s.checkouts)}`,
      `short-picked ${percent(s.shortPicked, s.promised)}`,
      `outcomes ${s.outcomes.toLocaleString('en-US')}`,
      `open ${s.unsettled}`,
    ].join(' | ');
  }
}

function percent(a: number, b: number): string {
  return b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`;
}
