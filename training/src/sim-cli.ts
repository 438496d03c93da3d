/**
 * Runs the world simulator from the command line.
 *
 *   node --import tsx training/src/sim-cli.ts --seed 1 --events 1000000 [--out file.ndjson] [--report]
 *
 * Progress goes to stderr; --out writes the delivered events as NDJSON (one
 * wire-format event per line, in delivery order: what replay tooling reads);
 * --report prints the naive-ATP oversell table per node type.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeEvent } from '@mercato/proto/v1/inventory-event';
import { formatNaiveAtpTable, NaiveAtpReport } from './simulator/naive-atp-report.js';
import { SimConfigError } from './simulator/sim-config.js';
import { Simulator } from './simulator/simulator.js';

const USAGE = `usage: sim-cli --events N [--seed S] [--out FILE.ndjson] [--report] [--start-ms MS|now]

  --events N       stop after the action that emits the N-th event (required, >= 1)
  --seed S         PRNG seed, integer 0..4294967295 (default 1)
  --out FILE       write delivered events as NDJSON, one wire-format event per line
  --report         print naive-ATP oversell rates per node type
  --start-ms T     simulated start time in epoch ms, or "now" (default 2026-01-05T00:00:00Z)
  --help           this text`;

/** Progress redraws at most this often (ms). */
const PROGRESS_INTERVAL_MS = 250;
/** Records between two clock reads: keeps the progress check off the hot path. */
const PROGRESS_CHECK_EVERY = 4096;
const PROGRESS_BAR_WIDTH = 30;
/** NDJSON lines buffered before one write call. */
const OUT_BATCH_LINES = 2048;

export interface CliOptions {
  events: number;
  seed: number;
  out: string | null;
  report: boolean;
  startTimeMs: number | null;
}

export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

/** Parses and validates argv; every error names the flag. */
export function parseCliArgs(argv: string[], nowMs: () => number = Date.now): CliOptions | 'help' {
  let parsed: ReturnType<
    typeof parseArgs<{ options: typeof OPTIONS; strict: true; allowPositionals: false }>
  >;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  if (v.events === undefined) throw new CliUsageError('--events is required');
  const events = intFlag('--events', v.events, 1, Number.MAX_SAFE_INTEGER);
  const seed = v.seed === undefined ? 1 : intFlag('--seed', v.seed, 0, 0xffff_ffff);
  let startTimeMs: number | null = null;
  if (v['start-ms'] !== undefined) {
    startTimeMs =
      v['start-ms'] === 'now' ? nowMs() : intFlag('--start-ms', v['start-ms'], 946_684_800_000, 4e12);
  }
  if (v.out !== undefined && v.out.trim() === '') throw new CliUsageError('--out: expected a file path');
  return { events, seed, out: v.out ?? null, report: v.report === true, startTimeMs };
}

const OPTIONS = {
  events: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  report: { type: 'boolean' },
  'start-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function intFlag(flag: string, raw: string, min: number, max: number): number {
  const s = raw.replaceAll('_', '');
  if (!/^\d+$/.test(s)) throw new CliUsageError(`${flag}: expected a whole number, got "${raw}"`);
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliUsageError(`${flag}: must be between ${min} and ${max}, got ${raw}`);
  }
  return n;
}

async function main(): Promise<number> {
  let opts: CliOptions | 'help';
  try {
    opts = parseCliArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CliUsageError) {
      process.stderr.write(`sim-cli: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (opts === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let sim: Simulator;
  try {
    sim = new Simulator({
      seed: opts.seed,
      maxEvents: opts.events,
      ...(opts.startTimeMs === null ? {} : { startTimeMs: opts.startTimeMs }),
    });
  } catch (err) {
    if (err instanceof SimConfigError) {
      process.stderr.write(`sim-cli: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const report = new NaiveAtpReport(sim.world.nodes);
  const out = opts.out === null ? null : createWriteStream(opts.out);
  const progress = new Progress(opts.events);
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
    if (++n % PROGRESS_CHECK_EVERY === 0) progress.update(events, sim.stats().nowMs - sim.config.startTimeMs);
  }
  if (out !== null) {
    await flush(out, lines);
    await new Promise<void>((resolve, reject) =>
      out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  progress.done(events, sim.stats().nowMs - sim.config.startTimeMs);
  const simH = (sim.stats().nowMs - sim.config.startTimeMs) / 3_600_000;
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
  return 0;
}

async function flush(out: WriteStream, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const ok = out.write(`${lines.join('\n')}\n`);
  lines.length = 0;
  if (!ok) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
}

/** One progress line on stderr, redrawn in place on a terminal, every 10% otherwise. */
class Progress {
  private lastDrawMs = 0;
  private lastDecile = -1;
  private readonly tty = process.stderr.isTTY === true;
  private readonly startMs = performance.now();

  constructor(private readonly total: number) {}

  update(events: number, simMs: number): void {
    const now = performance.now();
    if (this.tty) {
      if (now - this.lastDrawMs < PROGRESS_INTERVAL_MS) return;
      this.lastDrawMs = now;
      process.stderr.write(`\r${this.line(events, simMs, now)}`);
    } else {
      const decile = Math.floor((10 * Math.min(events, this.total)) / this.total);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      process.stderr.write(`${this.line(events, simMs, now)}\n`);
    }
  }

  done(events: number, simMs: number): void {
    const line = this.line(events, simMs, performance.now());
    process.stderr.write(this.tty ? `\r${line}\n` : `${line}\n`);
  }

  private line(events: number, simMs: number, now: number): string {
    const share = Math.min(1, events / this.total);
    const filled = Math.round(share * PROGRESS_BAR_WIDTH);
    const rate = events / Math.max(1e-3, (now - this.startMs) / 1000);
    return (
      `[${'#'.repeat(filled)}${'.'.repeat(PROGRESS_BAR_WIDTH - filled)}] ${(share * 100).toFixed(1).padStart(5)}% ` +
      `${events}/${this.total} events, ${Math.round(rate)} ev/s, ${(simMs / 3_600_000).toFixed(1)} h simulated`
    );
  }
}

// Runs only as a script, so tests can import parseCliArgs without side effects.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`sim-cli: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
