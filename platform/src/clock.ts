/**
 * Business time. Every decision about freshness, ages, holds, windows and
 * velocities reads a Clock, never Date.now() directly, so one process can
 * run on the wall clock (production) or on a world clock shared by every
 * process of a closed-loop world (training/src/world): a simulated instant
 * `simEpochMs` pinned to the wall instant `wallEpochMs`, running `speed`
 * times faster than the wall. All processes given the same spec agree on
 * "now" to within their wall clocks' agreement (one machine: exact).
 *
 * Transport timeouts (request budgets, socket timeouts, retry backoff) stay
 * on the wall clock: they are about the machine, not the world. Periodic
 * business work (lag reports, refreshers compared against business-time
 * staleness bounds) converts its period with `wallMs()`.
 */

export interface Clock {
  /** Business time now (ms since the epoch). */
  now(): number;
  /** How many wall ms a business-time duration takes (identity on the wall clock). */
  wallMs(businessMs: number): number;
  /** 1 on the wall clock; the world's speed otherwise. */
  readonly speed: number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  wallMs: (ms) => ms,
  speed: 1,
};

export interface WorldClockSpec {
  simEpochMs: number;
  wallEpochMs: number;
  speed: number;
}

/** Slowest and fastest worlds accepted: beyond 1000x, real latencies swamp simulated ones. */
export const MIN_WORLD_SPEED = 0.001;
export const MAX_WORLD_SPEED = 1_000;

export function worldClock(spec: WorldClockSpec): Clock {
  const { simEpochMs, wallEpochMs, speed } = spec;
  return {
    now: () => simEpochMs + (Date.now() - wallEpochMs) * speed,
    wallMs: (ms) => ms / speed,
    speed,
  };
}

/** Text form for flags and environment: `<simEpochMs>@<wallEpochMs>x<speed>`. */
export function formatWorldClock(spec: WorldClockSpec): string {
  return `${spec.simEpochMs}@${spec.wallEpochMs}x${spec.speed}`;
}

const SPEC_RE = /^(\d{12,14})@(\d{12,14})x(\d+(?:\.\d+)?)$/;

/** Parses `<simEpochMs>@<wallEpochMs>x<speed>`; throws an Error saying what is wrong (callers name the flag). */
export function parseWorldClock(text: string): WorldClockSpec {
  const m = SPEC_RE.exec(text);
  if (m === null) throw new Error(`expected <simEpochMs>@<wallEpochMs>x<speed>, got "${text.slice(0, 60)}"`);
  const speed = Number(m[3]);
  if (!(speed >= MIN_WORLD_SPEED && speed <= MAX_WORLD_SPEED)) {
    throw new Error(`speed must be between ${MIN_WORLD_SPEED} and ${MAX_WORLD_SPEED}, got ${m[3]}`);
  }
  return { simEpochMs: Number(m[1]), wallEpochMs: Number(m[2]), speed };
}

/** The clock a process runs on: a world clock when a spec is given, else the wall clock. */
export function clockFrom(spec: string | undefined): Clock {
  return spec === undefined ? systemClock : worldClock(parseWorldClock(spec));
}
