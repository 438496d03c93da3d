/**
 * Calls a scenario's supervisor callbacks at the right world times: the
 * driver asks for the next boundary (window start or end) so its paced
 * steps stop there, and reports each time it reached; a boundary passed
 * fires its callback. Callbacks run one after the other (an end never
 * overtakes its start) but are not awaited by the world, which keeps
 * running while a process restarts; the first rejection is kept for the
 * driver to rethrow.
 */
import { toAtpError } from '@mercato/platform/errors';
import type { AppliedScenario, ScenarioCallbacks } from './scenarios.js';

export type ScenarioState = 'pending' | 'active' | 'ended';

export class ScenarioRunner {
  private readonly states: ScenarioState[];
  private chain: Promise<void> = Promise.resolve();
  /** The first callback that failed, as the driver rethrows it. */
  failure: Error | null = null;
  /** Every scenario of the run, in window order (one, or a sequence). */
  readonly all: readonly AppliedScenario[];

  /**
   * @param applied one scenario, or a sequence whose windows follow one
   *   another (sequenceWindows); callbacks of all of them run one after the other.
   */
  constructor(
    applied: AppliedScenario | readonly AppliedScenario[],
    private readonly callbacks: ScenarioCallbacks | undefined,
    private readonly log: (line: string) => void,
  ) {
    this.all = Array.isArray(applied) ? [...applied] : [applied as AppliedScenario];
    if (this.all.length === 0) throw new Error('a scenario runner needs a scenario');
    // No window (steady, an empty live phase): nothing will ever happen.
    this.states = this.all.map((a) => (a.window === null ? 'ended' : 'pending'));
  }

  /** The run's (first) scenario. */
  get applied(): AppliedScenario {
    return this.all[0] as AppliedScenario;
  }

  /** The state of the (first) scenario. */
  get state(): ScenarioState {
    return this.states[0] ?? 'ended';
  }

  /** Simulated time of the next boundary still ahead (Infinity when none). */
  nextBoundaryMs(): number {
    let next = Number.POSITIVE_INFINITY;
    this.all.forEach((a, i) => {
      const w = a.window;
      const st = this.states[i];
      if (w === null || st === 'ended') return;
      next = Math.min(next, st === 'pending' ? w.fromMs : w.untilMs);
    });
    return next;
  }

  /** The world stands at simMs: fires every boundary at or before it, in order. */
  reached(simMs: number): void {
    this.all.forEach((a, i) => {
      const w = a.window;
      if (w === null) return;
      if (this.states[i] === 'pending' && simMs >= w.fromMs) this.fire(i, 'start', w.fromMs);
      if (this.states[i] === 'active' && simMs >= w.untilMs) this.fire(i, 'end', w.untilMs);
    });
  }

  /**
   * The run is over (drained or stopped) at simMs: an open window closes
   * now (onScenarioEnd), and every callback is awaited. A window that never
   * opened stays unopened.
   */
  async finish(simMs: number): Promise<void> {
    this.all.forEach((_, i) => {
      if (this.states[i] === 'active') this.fire(i, 'end', simMs);
    });
    await this.chain;
  }

  private fire(i: number, which: 'start' | 'end', atMs: number): void {
    this.states[i] = which === 'start' ? 'active' : 'ended';
    const a = this.all[i] as AppliedScenario;
    this.log(`scenario ${a.scenario.name}: ${which} at ${new Date(atMs).toISOString()}${describe(a, which)}`);
    const cb = this.callbacks;
    if (cb === undefined) return;
    this.chain = this.chain.then(async () => {
      if (this.failure !== null) return;
      try {
        if (which === 'start') await cb.onScenarioStart(a, atMs);
        else await cb.onScenarioEnd(a, atMs);
      } catch (err) {
        this.failure = toAtpError(err);
      }
    });
  }
}

function describe(a: AppliedScenario, which: 'start' | 'end'): string {
  if (which === 'end') return '';
  const parts: string[] = [];
  for (const f of a.flashSales) parts.push(`${f.sku} x${f.multiplier}`);
  for (const o of a.outages) parts.push(`${o.nodeIds.length} feeds silent (${o.nodeIds.join(', ')})`);
  if (a.scenario.supervisor !== null) parts.push(a.scenario.supervisor.atStart);
  return parts.length === 0 ? '' : `: ${parts.join('; ')}`;
}
