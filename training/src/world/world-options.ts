/**
 * Options of a closed-loop world run, with their defaults, and the run's
 * timeline. `resolveWorldOptions(input)` validates at the edge (an
 * ATP_ERR_WORLD_CONFIG AtpError naming the field); the driver trusts the
 * result.
 *
 * Timeline (simulated time): the world starts at the simulator's start;
 * the warm-up (internal naive routing, fast-forwarded) ends at liveFromMs,
 * where the world clock should stand when the live phase begins; checkouts
 * go to the data plane until liveUntilMs; the drain then runs until every
 * checkout and promise is accounted for, or for drainBoundMs at most.
 */
import { AtpError } from '@mercato/platform/errors';
import { DEFAULT_WARMUP_MS } from '../dataset/simulated-dataset.js';
import { ERR } from '../errors.js';
import {
  DEFAULT_START_TIME_MS,
  MAX_RESOLVE_TIMEOUT_MS,
  MIN_RESOLVE_TIMEOUT_MS,
  type SimConfigInput,
} from '../simulator/sim-config.js';
import {
  isScenarioName,
  parseScenarioSteps,
  SCENARIO_NAMES,
  type ScenarioName,
  type ScenarioStep,
} from './scenarios.js';

const MS_PER_MIN = 60_000;
const MS_PER_H = 3_600_000;

/** As the dataset builder: batch features see this much history before the first decision. */
export const DEFAULT_WARMUP_HOURS = DEFAULT_WARMUP_MS / MS_PER_H;
export const MAX_WARMUP_HOURS = 24 * 30;
export const DEFAULT_LIVE_MINUTES = 10;
export const MAX_LIVE_MINUTES = 7 * 24 * 60;
/** Checkouts awaiting their answer at once; more wait in order (a data plane is not a load test here). */
export const DEFAULT_MAX_IN_FLIGHT = 64;
export const MAX_IN_FLIGHT_LIMIT = 10_000;
/** Live events are sent at least this often (wall ms): small batches, little added lag. */
export const DEFAULT_EVENT_BATCH_WALL_MS = 5;
export const MAX_EVENT_BATCH_WALL_MS = 1_000;
/**
 * A checkout unanswered this long (simulated) counts as not promised. At
 * 60x, 10 simulated minutes are 10 wall seconds: far beyond any answer of a
 * healthy data plane, short enough to bound what an unanswered one holds.
 */
export const DEFAULT_ANSWER_TIMEOUT_MS = 10 * MS_PER_MIN;

export interface WorldOptions {
  seed: number;
  /** Simulator knobs (routing fields and stop limits are the driver's). Default: the default world. */
  sim: SimConfigInput;
  warmupHours: number;
  liveMinutes: number;
  /**
   * Simulated ms the drain may last after liveUntilMs; null = derived from
   * the world: the answer timeout + the longest handling time + the longest
   * healthy event delay, when every outcome is due.
   */
  drainBoundMs: number | null;
  maxInFlight: number;
  eventBatchWallMs: number;
  answerTimeoutMs: number;
  /** What the run plays (scenarios.ts): its simulator hooks and the supervisor's faults. */
  scenario: ScenarioName;
  /** Simulated minutes into the live phase the scenario's window opens; null = the scenario's own. */
  scenarioStartAfterMinutes: number | null;
  /** Simulated minutes the window lasts (cut at the live phase's end); null = the scenario's own. */
  scenarioMinutes: number | null;
  /**
   * Several scenarios played one after another, each in its own window
   * (scenarios.ts sequenceWindows); when set, `scenario` and `scenarioMinutes`
   * are ignored (the first window still opens scenarioStartAfterMinutes in).
   */
  scenarioSequence: readonly ScenarioStep[] | null;
}

export type WorldOptionsInput = Partial<WorldOptions>;

export const DEFAULT_WORLD_OPTIONS: WorldOptions = {
  seed: 1,
  sim: {},
  warmupHours: DEFAULT_WARMUP_HOURS,
  liveMinutes: DEFAULT_LIVE_MINUTES,
  drainBoundMs: null,
  maxInFlight: DEFAULT_MAX_IN_FLIGHT,
  eventBatchWallMs: DEFAULT_EVENT_BATCH_WALL_MS,
  answerTimeoutMs: DEFAULT_ANSWER_TIMEOUT_MS,
  scenario: 'steady',
  scenarioStartAfterMinutes: null,
  scenarioMinutes: null,
  scenarioSequence: null,
};

/** Where a run is: its phases in order (see world-driver.ts). */
export type WorldPhase = 'idle' | 'warm-up' | 'live' | 'drain' | 'done';

/** Simulated times of the run's phases (epoch ms). */
export interface WorldTimeline {
  startMs: number;
  /** End of the warm-up: the world clock's epoch for the live phase. */
  liveFromMs: number;
  /** Last checkout time sent to the data plane. */
  liveUntilMs: number;
}

export function resolveWorldOptions(input: WorldOptionsInput = {}): WorldOptions {
  const o: WorldOptions = { ...DEFAULT_WORLD_OPTIONS };
  for (const [key, v] of Object.entries(input)) if (v !== undefined) Object.assign(o, { [key]: v });
  int('seed', o.seed, 0, 0xffff_ffff);
  if (typeof o.sim !== 'object' || o.sim === null) throw optionError('sim', 'expected simulator knobs');
  num('warmupHours', o.warmupHours, 0, MAX_WARMUP_HOURS);
  num('liveMinutes', o.liveMinutes, 0, MAX_LIVE_MINUTES);
  if (o.drainBoundMs !== null) int('drainBoundMs', o.drainBoundMs, 0, Number.MAX_SAFE_INTEGER);
  int('maxInFlight', o.maxInFlight, 1, MAX_IN_FLIGHT_LIMIT);
  num('eventBatchWallMs', o.eventBatchWallMs, 1, MAX_EVENT_BATCH_WALL_MS);
  int('answerTimeoutMs', o.answerTimeoutMs, MIN_RESOLVE_TIMEOUT_MS, MAX_RESOLVE_TIMEOUT_MS);
  if (typeof o.scenario !== 'string' || !isScenarioName(o.scenario)) {
    throw optionError(
      'scenario',
      `expected one of ${SCENARIO_NAMES.join(', ')}, got ${JSON.stringify(o.scenario)}`,
    );
  }
  if (o.scenarioStartAfterMinutes !== null) {
    num('scenarioStartAfterMinutes', o.scenarioStartAfterMinutes, 0, o.liveMinutes);
  }
  if (o.scenarioMinutes !== null) num('scenarioMinutes', o.scenarioMinutes, 0, MAX_LIVE_MINUTES);
  if (o.scenarioSequence !== null) {
    if (!Array.isArray(o.scenarioSequence) || o.scenarioSequence.length === 0) {
      throw optionError('scenarioSequence', 'expected a non-empty list of {name, minutes}');
    }
    // Re-parsed from its text form: one validation for the flag and the option.
    const text = o.scenarioSequence
      .map((st) => `${String(st?.name)}${st?.minutes == null ? '' : `:${String(st.minutes)}`}`)
      .join(',');
    o.scenarioSequence = parseScenarioSteps(text, 'scenarioSequence');
  }
  return o;
}

/** The timeline of a run with these options: what the supervisor's world clock spec needs before the run. */
export function worldTimeline(o: WorldOptions): WorldTimeline {
  const startMs = o.sim.startTimeMs ?? DEFAULT_START_TIME_MS;
  const liveFromMs = startMs + Math.round(o.warmupHours * MS_PER_H);
  return { startMs, liveFromMs, liveUntilMs: liveFromMs + Math.round(o.liveMinutes * MS_PER_MIN) };
}

function num(field: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw optionError(field, 'expected a finite number');
  if (v < min || v > max) throw optionError(field, `must be between ${min} and ${max}, got ${v}`);
}

function int(field: string, v: unknown, min: number, max: number): void {
  num(field, v, min, max);
  if (!Number.isInteger(v)) throw optionError(field, `expected an integer, got ${v}`);
}

function optionError(field: string, problem: string): AtpError {
  return new AtpError(ERR.WORLD_CONFIG, `${field}: ${problem}`, field);
}
