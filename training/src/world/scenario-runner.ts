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
  private stateNow: ScenarioState = 'pending';
  private chain: Promise<void> = Promise.resolve();
  /** The first callback that failed, as the driver rethrows it. */
  failure: Error | null = null;

  constructor(
    readonly applied: AppliedScenario,
    private readonly callbacks: ScenarioCallbacks | undefined,
    private readonly log: (line: string) => void,
  ) {
    // No window (steady, an empty live phase): nothing will ever happen.
    if (applied.window === null) this.stateNow = 'ended';
  }

  get state(): ScenarioState {
    return this.stateNow;
  }

  /** Simulated time of the next boundary still ahead (Infinity when none). */
  nextBoundaryMs(): number {
    const w = this.applied.window;
    if (w === null || this.stateNow === 'ended') return Number.POSITIVE_INFINITY;
    return this.stateNow === 'pending' ? w.fromMs : w.untilMs;
  }

  /** The world stands at simMs: fires every boundary at or before it, in order. */
  reached(simMs: number): void {
    const w = this.applied.window;
    if (w === null) return;
    if (this.stateNow === 'pending' && simMs >= w.fromMs) this.fire('start', w.fromMs);
    if (this.stateNow === 'active' && simMs >= w.untilMs) this.fire('end', w.untilMs);
  }

  /**
   * The run is over (drained or stopped) at simMs: an open window closes
   * now (onScenarioEnd), and every callback is awaited. A window that never
   * opened stays unopened.
   */
  async finish(simMs: number): Promise<void> {
    if (this.stateNow === 'active') this.fire('end', simMs);
    await this.chain;
  }

  private fire(which: 'start' | 'end', atMs: number): void {
    this.stateNow = which === 'start' ? 'active' : 'ended';
    const a = this.applied;
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
