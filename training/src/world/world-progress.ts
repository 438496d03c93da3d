/**
 * The world's progress lines on stderr: at most one every few wall seconds
 * (a run of minutes stays readable in a log), plus a final one. Wall time
 * only decides when to print, never what the world does.
 */
import type { WorldPhase, WorldTimeline } from './world-options.js';
import type { ProgressSink } from './world-ports.js';

/** Wall ms between two progress lines, at least. */
export const PROGRESS_EVERY_WALL_MS = 3_000;
const MS_PER_MIN = 60_000;

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

  constructor(
    private readonly sink: ProgressSink,
    private readonly timeline: WorldTimeline,
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
    const t = this.timeline;
    const at =
      s.simMs < t.liveFromMs
        ? `warm-up ${minutes(s.simMs - t.startMs)}/${minutes(t.liveFromMs - t.startMs)} min`
        : s.simMs <= t.liveUntilMs
          ? `live ${minutes(s.simMs - t.liveFromMs)}/${minutes(t.liveUntilMs - t.liveFromMs)} min`
          : `drain +${minutes(s.simMs - t.liveUntilMs)} min`;
    const parts = [
      `world ${final ? 'done' : s.phase}`,
      at,
      `events ${s.events.toLocaleString('en-US')}`,
      `checkouts ${s.checkouts.toLocaleString('en-US')} (${s.inFlight} in flight, ${s.waiting} waiting)`,
      `promised ${percent(s.promised, s.checkouts)}`,
      `short-picked ${percent(s.shortPicked, s.promised)}`,
      `outcomes ${s.outcomes.toLocaleString('en-US')}`,
      `open ${s.unsettled}`,
    ];
    this.sink.write(`${parts.join(' | ')}\n`);
  }
}

function minutes(ms: number): string {
  return (ms / MS_PER_MIN).toFixed(1);
}

function percent(a: number, b: number): string {
  return b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`;
}
