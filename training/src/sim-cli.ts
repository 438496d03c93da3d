/**
 * Runs the world simulator from the command line.
 *
 *   npm run sim -- --events 1000000 [--seed 1] [--out file.ndjson] [--report] [--start-ms MS|now]
 *
 * Progress goes to stderr; --out writes the delivered events as NDJSON (one
 * wire-format event per line, in delivery order: what replay tooling reads);
 * --report prints the naive-ATP oversell table per node type. Exit 2 = bad
 * flags (the message names the flag), 1 = the run failed.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { AtpError, COMMON_ERR } from '@mercato/platform/errors';
import {
  type Command,
  createProgram,
  EXIT_OK,
  flagError,
  onAction,
  runProgram,
} from '@mercato/platform/flags';
import { ProgressBar } from '@mercato/platform/progress-bar';
import { runMain } from '@mercato/platform/run-main';
import { encodeEvent } from '@mercato/proto/v1/inventory-event';
import { startTimeFlag, wholeNumberFlag } from './cli/number-flags.js';
import { readFlags } from './cli/read-flags.js';
import { formatNaiveAtpTable, NaiveAtpReport } from './simulator/naive-atp-report.js';
import { Simulator } from './simulator/simulator.js';

export const DEFAULT_SEED = 1;
/** Records between two progress updates: keeps the clock read off the hot path. */
const PROGRESS_CHECK_EVERY = 4096;
/** NDJSON lines buffered before one write call. */
const OUT_BATCH_LINES = 2048;
const MS_PER_H = 3_600_000;

export interface CliOptions {
  events: number;
  seed: number;
  out: string | null;
  report: boolean;
  startTimeMs: number | null;
}

/** The flags as commander reads them (strings), before validation. */
export interface RawSimFlags {
  events?: string;
  seed?: string;
  out?: string;
  report?: boolean;
  startMs?: string;
}

/** The command line (no action attached). */
export function simProgram(): Command {
  return createProgram('sim-cli', 'Runs the seeded world simulator and streams its inventory events.')
    .option('--events <n>', 'stop after the action that emits the N-th event (required, >= 1)')
    .option('--seed <s>', `PRNG seed, integer 0..4294967295 (default ${DEFAULT_SEED})`)
    .option('--out <file>', 'write delivered events as NDJSON, one wire-format event per line')
    .option('--report', 'print naive-ATP oversell rates per node type')
    .option('--start-ms <t>', 'simulated start time in epoch ms, or "now" (default 2026-01-05T00:00:00Z)');
}

/** Validates raw flags; every error is an ATP_ERR_INVALID_FLAG naming the flag. */
export function simFlags(raw: RawSimFlags, nowMs: () => number = Date.now): CliOptions {
  if (raw.events === undefined)
    throw new AtpError(COMMON_ERR.INVALID_FLAG, '--events is required', '--events');
  const events = wholeNumberFlag(raw.events, '--events', 1, Number.MAX_SAFE_INTEGER, 0);
  const seed = wholeNumberFlag(raw.seed, '--seed', 0, 0xffff_ffff, DEFAULT_SEED);
  const startTimeMs = startTimeFlag(raw.startMs, '--start-ms', nowMs);
  if (raw.out !== undefined && raw.out.trim() === '') throw flagError('--out', 'expected a file path');
  return { events, seed, out: raw.out ?? null, report: raw.report === true, startTimeMs };
}

/** Parses and validates argv without running anything (tests); 'help' for --help. */
export function parseCliArgs(argv: readonly string[], nowMs: () => number = Date.now): CliOptions | 'help' {
  const raw = readFlags<RawSimFlags>(simProgram(), argv);
  return raw === 'help' ? 'help' : simFlags(raw, nowMs);
}

/** Runs one simulation; the summary (and the table with --report) goes to stdout. */
export async function runSim(opts: CliOptions): Promise<number> {
  const sim = new Simulator({
    seed: opts.seed,
    maxEvents: opts.events,
    ...(opts.startTimeMs === null ? {} : { startTimeMs: opts.startTimeMs }),
  });
  const report = new NaiveAtpReport(sim.world.nodes);
  const out = opts.out === null ? null : createWriteStream(opts.out);
  const bar = new ProgressBar(`seed ${opts.seed}`, opts.events, ' events');
  const simulatedH = () =>
    `${((sim.stats().nowMs - sim.config.startTimeMs) / MS_PER_H).toFixed(1)} h simulated`;
  const lines: string[] = [];
  let events = 0;
  let n = 0;
  const t0 = performance.now();
  for (const r of sim.run()) {
    if (r.type === 'event') {
      events++;
      if (out !== null) {
        lines.push(encodeEvent(r.event));
        if (lines.length >= OUT_BATCH_LINES) await flush(out, lines);
      }
    } else {
      report.observe(r);
    }
    if (++n % PROGRESS_CHECK_EVERY === 0) bar.update(events, simulatedH());
  }
  if (out !== null) {
    await flush(out, lines);
    await new Promise<void>((resolve, reject) =>
      out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  bar.done(simulatedH(), events);
  const simH = (sim.stats().nowMs - sim.config.startTimeMs) / MS_PER_H;
  process.stdout.write(
    `${events} events (seed ${opts.seed}) in ${seconds.toFixed(2)} s: ${Math.round(events / seconds)} events/s, ` +
      `${simH.toFixed(1)} h simulated, ${sim.world.nodes.length} nodes, ${sim.world.pairs.length} (sku,node) pairs` +
      (opts.out === null ? '' : `, written to ${opts.out}`) +
      '\n',
  );
  if (opts.report)
    process.stdout.write(
      `\nnaive ATP (on_hand - reserved >= qty) at decision time:\n${formatNaiveAtpTable(report.summary())}\n`,
    );
  return EXIT_OK;
}

async function flush(out: WriteStream, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const ok = out.write(`${lines.join('\n')}\n`);
  lines.length = 0;
  if (!ok) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = simProgram();
  onAction(program, (raw: RawSimFlags) => runSim(simFlags(raw)));
  return runProgram(program, argv);
}

runMain(import.meta.url, main);
