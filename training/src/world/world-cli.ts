/**
 * The closed-loop world from the command line (issue 12):
 *
 *   npm run world -- --minutes 10 --scenario steady --policy model \
 *   npm run world -- --minutes 40 --scenario feed-outage:4,model-crash:6,control-plane-down:16 \
 *     [--seed 1] [--sidecars 2] [--speed 60] [--warmup-hours 4] [--world default|small] [--out DIR] [--brokers h:p,...]
 *
 * Starts every real process (Kafka mock cluster, Redis, control plane,
 * batch job, ingester, sidecars, data planes), plays the world through them
 * (world-run.ts), prints the summary on stdout and writes
 * world-report.{json,html} into --out. Progress goes to stderr. SIGINT or
 * SIGTERM stop the run and every process it started. Exit codes: 0 ok,
 * 1 the run failed, 2 bad flags (the message names the flag).
 */
import { join } from 'node:path';
import { MAX_WORLD_SPEED, MIN_WORLD_SPEED } from '@mercato/platform/clock';
import {
  type Command,
  createProgram,
  EXIT_OK,
  flagError,
  listFlag,
  onAction,
  runProgram,
} from '@mercato/platform/flags';
import { runMain } from '@mercato/platform/run-main';
import { realNumberFlag, wholeNumberFlag } from '../cli/number-flags.js';
import { readFlags } from '../cli/read-flags.js';
import { parseScenarioSteps, SCENARIO_NAMES } from './scenarios.js';
import { REPO_ROOT } from './supervisor/commands.js';
import { WORLD_FILTER_TIMEOUT_MS, WORLD_POLICIES, type WorldPolicy } from './supervisor/world-services.js';
import {
  DEFAULT_LIVE_MINUTES,
  DEFAULT_WARMUP_HOURS,
  MAX_LIVE_MINUTES,
  MAX_WARMUP_HOURS,
} from './world-options.js';
import { isWorldPresetName, WORLD_PRESET_NAMES, WORLD_PRESETS } from './world-presets.js';
import { summaryLines, writeWorldReport } from './world-report.js';
import { DEFAULT_SIDECARS, DEFAULT_SPEED, runWorld, type WorldRunOptions } from './world-run.js';

export const MAX_SIDECARS = 8;
/** The filter's own upper bound on a call budget. */
export const MAX_FILTER_TIMEOUT_MS = 10_000;

export interface RawWorldFlags {
  minutes?: string;
  scenario?: string;
  policy?: string;
  seed?: string;
  sidecars?: string;
  speed?: string;
  warmupHours?: string;
  out?: string;
  brokers?: string;
  world?: string;
  filterTimeoutMs?: string;
}

export function worldProgram(): Command {
  return createProgram(
    'world',
    'Run the closed-loop world: the simulator plays buyers and warehouses for every real process.',
  )
    .option('--minutes <n>', `simulated minutes of live checkouts (default ${DEFAULT_LIVE_MINUTES})`)
    .option(
      '--scenario <name>',
      `${SCENARIO_NAMES.join(' | ')} (default steady); several as name[:minutes],... play one after another, each in its own window`,
    )
    .option(
      '--policy <p>',
      'model (the promoted bundle decides) | naive (sidecars enforce naive ATP) | ab (both, 50/50 by session key, with the business-impact report) (default model)',
    )
    .option('--seed <k>', 'world seed (default 1)')
    .option('--sidecars <n>', `sidecar pods, each with its data plane (default ${DEFAULT_SIDECARS})`)
    .option('--speed <x>', `world clock speed: simulated ms per wall ms (default ${DEFAULT_SPEED})`)
    .option(
      '--warmup-hours <h>',
      `simulated hours fast-forwarded before the live phase (default ${DEFAULT_WARMUP_HOURS})`,
    )
    .option(
      '--out <dir>',
      'run directory: logs, NDJSON logs and the reports (default world-runs/<scenario>-<policy>-<seed>)',
    )
    .option(
      '--world <name>',
      `simulated world: ${WORLD_PRESET_NAMES.join(' | ')} (default default: the one the model was trained on)`,
    )
    .option(
      '--filter-timeout-ms <ms>',
      `the filter's sidecar call budget, wall ms (default ${WORLD_FILTER_TIMEOUT_MS})`,
    )
    .option('--brokers <list>', "real Kafka brokers host:port[,...] instead of librdkafka's mock cluster");
}

/** Validates the flags; every problem is an ATP_ERR_INVALID_FLAG naming the flag. */
export function worldRunFlags(raw: RawWorldFlags): Omit<WorldRunOptions, 'progress' | 'signal'> {
  const scenario = raw.scenario ?? 'steady';
  let steps: ReturnType<typeof parseScenarioSteps>;
  try {
    steps = parseScenarioSteps(scenario, '--scenario');
  } catch (err) {
    throw flagError(
      '--scenario',
      err instanceof Error ? err.message.replace(/^--scenario: /, '') : String(err),
    );
  }
  const first = steps[0]!;
  const sequence = steps.length > 1 || first.minutes !== null ? { scenarioSequence: steps } : {};
  const policy = raw.policy ?? 'model';
  if (!(WORLD_POLICIES as readonly string[]).includes(policy)) {
    throw flagError('--policy', `expected ${WORLD_POLICIES.join(' or ')}, got "${policy}"`);
  }
  const liveMinutes = realNumberFlag(raw.minutes, '--minutes', 0.5, MAX_LIVE_MINUTES, DEFAULT_LIVE_MINUTES);
  const seed = wholeNumberFlag(raw.seed, '--seed', 0, 0xffff_ffff, 1);
  const sidecars = wholeNumberFlag(raw.sidecars, '--sidecars', 1, MAX_SIDECARS, DEFAULT_SIDECARS);
  const speed = realNumberFlag(raw.speed, '--speed', MIN_WORLD_SPEED, MAX_WORLD_SPEED, DEFAULT_SPEED);
  const warmupHours = realNumberFlag(
    raw.warmupHours,
    '--warmup-hours',
    0.5,
    MAX_WARMUP_HOURS,
    DEFAULT_WARMUP_HOURS,
  );
  const preset = raw.world ?? 'default';
  if (!isWorldPresetName(preset)) {
    throw flagError('--world', `expected one of ${WORLD_PRESET_NAMES.join(', ')}, got "${preset}"`);
  }
  if (raw.out !== undefined && raw.out.trim() === '') throw flagError('--out', 'expected a directory');
  const runName = steps.map((st) => st.name).join('+');
  const out = raw.out ?? join(REPO_ROOT, 'world-runs', `${runName}-${policy}-${seed}`);
  const filterTimeoutMs = wholeNumberFlag(
    raw.filterTimeoutMs,
    '--filter-timeout-ms',
    1,
    MAX_FILTER_TIMEOUT_MS,
    WORLD_FILTER_TIMEOUT_MS,
  );
  return {
    filterTimeoutMs,
    world: { seed, liveMinutes, warmupHours, scenario: first.name, ...sequence, sim: WORLD_PRESETS[preset] },
    policy: policy as WorldPolicy,
    sidecars,
    speed,
    outDir: out,
    ...(raw.brokers === undefined ? {} : { brokers: listFlag(raw.brokers, '--brokers') }),
  };
}

/** Parses argv without running anything (tests); 'help' for --help. */
export function parseWorldArgs(argv: readonly string[]): ReturnType<typeof worldRunFlags> | 'help' {
  const raw = readFlags<RawWorldFlags>(worldProgram(), argv);
  return raw === 'help' ? 'help' : worldRunFlags(raw);
}

export async function runWorldCli(raw: RawWorldFlags): Promise<number> {
  const options = worldRunFlags(raw);
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const result = await runWorld({ ...options, signal: abort.signal });
    const files = writeWorldReport(options.outDir, result);
    process.stdout.write(
      `${summaryLines(result).join('\n')}\nreport: ${files.html}\n        ${files.json}\n`,
    );
    return EXIT_OK;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export function main(argv: readonly string[]): Promise<number> {
  const program = worldProgram();
  onAction(program, (raw: RawWorldFlags) => runWorldCli(raw));
  return runProgram(program, argv);
}

runMain(import.meta.url, main);
