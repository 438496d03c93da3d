/**
 * Streams a simulated world or a recorded NDJSON file into Kafka (or into
 * the in-memory feature store) at a chosen rate:
 *
 *   npm run replay -- --to kafka --brokers 127.0.0.1:9092 --region eu-west \
 *     --seed 7 --events 200000 --rate 25000 [--duplicate] [--shuffle-ms 3000]
 *   npm run replay -- --to memory --file events.ndjson --verify
 *
 * Progress goes to stderr; one JSON summary line goes to stdout. Exit 2 =
 * bad flags or input (the message names the flag, or the file's line), 1 =
 * the sink failed or --verify found a difference.
 */
import { errorLine, hasCode } from '@mercato/platform/errors';
import {
  type Command,
  createProgram,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  flagError,
  listFlag,
  onAction,
  oneOfFlag,
  requiredFlag,
  runProgram,
} from '@mercato/platform/flags';
import { createLogger } from '@mercato/platform/logger';
import { runMain } from '@mercato/platform/run-main';
import { mutationsTopic } from '@mercato/proto/v1/topics';
import { realNumberFlag, startTimeFlag, wholeNumberFlag } from '../cli/number-flags.js';
import { readFlags } from '../cli/read-flags.js';
import { ERR } from '../errors.js';
import { type FileSource, fileSource, type SimulatedSource, simulatedSource } from './delivery-sources.js';
import { MAX_SHUFFLE_MS } from './perturb-delivery.js';
import { checkAgainstSystemView, runReplay } from './replay.js';
import { KafkaReplaySink, MemoryReplaySink, type ReplaySink } from './replay-sinks.js';

export const DEFAULT_REGION = 'eu-west';
export const DEFAULT_SEED = 1;
export const DEFAULT_BATCH_EVENTS = 500;
export const DEFAULT_SHUFFLE_SHARE = 0.3;
const MAX_BATCH_EVENTS = 100_000;
const MAX_RATE_PER_S = 10_000_000;
const MAX_SKUS = 10_000_000;
/** --verify lists at most this many differing pairs. */
const MAX_MISMATCHES_SHOWN = 10;
const TARGETS = ['kafka', 'memory'] as const;

export interface ReplayConfig {
  to: 'kafka' | 'memory';
  brokers: string[];
  topic: string;
  events: number | null;
  seed: number;
  skus: number | null;
  startTimeMs: number | null;
  file: string | null;
  ratePerS: number;
  duplicate: boolean;
  shuffleMs: number;
  shuffleShare: number;
  batchSize: number;
  verify: boolean;
  progress: boolean;
}

/** The flags as commander reads them (strings), before validation. */
export interface RawReplayFlags {
  to?: string;
  brokers?: string;
  region?: string;
  topic?: string;
  events?: string;
  seed?: string;
  skus?: string;
  startMs?: string;
  file?: string;
  rate?: string;
  duplicate?: boolean;
  shuffleMs?: string;
  shuffleShare?: string;
  batch?: string;
  verify?: boolean;
  /** false with --no-progress. */
  progress?: boolean;
}

/** The command line (no action attached). */
export function replayProgram(): Command {
  return createProgram(
    'replay-cli',
    'Streams a simulated world or a recorded NDJSON file into Kafka or the in-memory feature store.',
  )
    .option(
      '--to <sink>',
      'kafka: produce to Kafka; memory: apply to the in-memory feature store (no broker)',
    )
    .option('--brokers <list>', 'bootstrap brokers host:port,... (required with --to kafka)')
    .option('--region <name>', `topic inventory.mutations.<region> (default ${DEFAULT_REGION})`)
    .option('--topic <name>', 'override the topic')
    .option('--events <n>', 'simulate a world until it emitted N events (required unless --file)')
    .option('--seed <s>', `simulator seed (default ${DEFAULT_SEED}); also seeds --shuffle-ms`)
    .option('--skus <n>', "simulated world size in SKUs (default: the simulator's)")
    .option('--start-ms <t>', "simulated start time in epoch ms, or now (default: the simulator's)")
    .option('--file <file>', 'a recorded NDJSON file of wire events, one per line, in delivery order')
    .option('--rate <n>', 'events per second (default 0 = as fast as possible)')
    .option('--duplicate', 'deliver every event twice')
    .option(
      '--shuffle-ms <n>',
      `delay a share of events by up to N ms of delivery time (0..${MAX_SHUFFLE_MS})`,
    )
    .option('--shuffle-share <x>', `share of events delayed (default ${DEFAULT_SHUFFLE_SHARE})`)
    .option('--batch <n>', `events per produce request (default ${DEFAULT_BATCH_EVENTS})`)
    .option('--verify', "with --to memory and a simulated world: compare with the simulator's system view")
    .option('--no-progress', 'no progress bar on stderr');
}

/** Validates raw flags; every error is an ATP_ERR_INVALID_FLAG naming the flag. */
export function replayConfig(raw: RawReplayFlags, nowMs: () => number = Date.now): ReplayConfig {
  const to = oneOfFlag(requiredFlag(raw.to, '--to', 'kafka or memory'), '--to', TARGETS, 'memory');
  const brokers = raw.brokers === undefined ? [] : listFlag(raw.brokers, '--brokers');
  if (to === 'kafka' && brokers.length === 0) throw flagError('--brokers', 'required with --to kafka');
  for (const b of brokers) {
    if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(b)) throw flagError('--brokers', `"${b}" is not host:port`);
  }
  const region = raw.region ?? DEFAULT_REGION;
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(region)) throw flagError('--region', 'expected e.g. eu-west');
  const topic = raw.topic ?? mutationsTopic(region);
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw flagError('--topic', 'not a valid topic name');
  const file = raw.file ?? null;
  const events = wholeNumberFlag(raw.events, '--events', 1, Number.MAX_SAFE_INTEGER);
  if ((file === null) === (events === null)) throw flagError('--events', 'give either --events or --file');
  const shuffleMs = wholeNumberFlag(raw.shuffleMs, '--shuffle-ms', 0, MAX_SHUFFLE_MS, 0);
  const shuffleShare = realNumberFlag(raw.shuffleShare, '--shuffle-share', 0, 1, DEFAULT_SHUFFLE_SHARE);
  const verify = raw.verify === true;
  if (verify && (to !== 'memory' || file !== null)) {
    throw flagError('--verify', 'needs --to memory and a simulated world (--events)');
  }
  return {
    to,
    brokers,
    topic,
    events,
    seed: wholeNumberFlag(raw.seed, '--seed', 0, 0xffff_ffff, DEFAULT_SEED),
    skus: wholeNumberFlag(raw.skus, '--skus', 1, MAX_SKUS),
    startTimeMs: startTimeFlag(raw.startMs, '--start-ms', nowMs),
    file,
    ratePerS: wholeNumberFlag(raw.rate, '--rate', 0, MAX_RATE_PER_S, 0),
    duplicate: raw.duplicate === true,
    shuffleMs,
    shuffleShare,
    batchSize: wholeNumberFlag(raw.batch, '--batch', 1, MAX_BATCH_EVENTS, DEFAULT_BATCH_EVENTS),
    verify,
    progress: raw.progress !== false,
  };
}

/** Parses and validates argv without running anything (tests); 'help' for --help. */
export function parseReplayArgs(
  argv: readonly string[],
  nowMs: () => number = Date.now,
): ReplayConfig | 'help' {
  const raw = readFlags<RawReplayFlags>(replayProgram(), argv);
  return raw === 'help' ? 'help' : replayConfig(raw, nowMs);
}

/** Runs one replay from argv; returns the exit code. Help, errors and progress go to `err`'s side as the process's would. */
export async function runReplayCli(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
): Promise<number> {
  const program = replayProgram().configureOutput({
    writeOut: (s) => out.write(s),
    writeErr: (s) => err.write(s),
  });
  onAction(program, (raw: RawReplayFlags) => replay(replayConfig(raw), out, err));
  return runProgram(program, argv);
}

async function replay(
  config: ReplayConfig,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream & { isTTY?: boolean },
): Promise<number> {
  const source = openSource(config);
  const sim = 'sim' in source ? source : null;
  const logger = createLogger({ level: 'warn', name: 'atp-replay', destination: process.stderr });
  const sink: ReplaySink =
    config.to === 'kafka'
      ? await KafkaReplaySink.open(config.brokers, config.topic, logger)
      : new MemoryReplaySink();
  try {
    const summary = await runReplay(
      {
        deliveries: source.deliveries(),
        sourceEvents: source.total,
        duplicate: config.duplicate,
        shuffleMs: config.shuffleMs,
        shuffleShare: config.shuffleShare,
        seed: config.seed,
        ratePerS: config.ratePerS,
        batchSize: config.batchSize,
        label: config.to === 'kafka' ? config.topic : 'memory',
      },
      sink,
      config.progress ? err : null,
    );
    const result: Record<string, unknown> = {
      to: config.to,
      ...(config.to === 'kafka' ? { topic: config.topic } : {}),
      events: summary.events,
      durationMs: Math.round(summary.durationMs),
      ratePerS: Math.round(summary.ratePerS),
      bySource: summary.bySource,
    };
    let code = EXIT_OK;
    if (sink instanceof MemoryReplaySink) {
      const state = sink.store.state;
      Object.assign(result, {
        pairs: state.size,
        applied: state.stats.applied,
        duplicates: state.stats.duplicates,
        gapsSkipped: state.stats.gapsSkipped,
        digest: state.digest(),
      });
      if (config.verify && sim !== null) {
        const check = checkAgainstSystemView(sink, sim);
        Object.assign(result, {
          verified: check.mismatches.length === 0,
          mismatches: check.mismatches.slice(0, MAX_MISMATCHES_SHOWN),
        });
        if (check.mismatches.length > 0) code = EXIT_FAILED;
      }
    }
    out.write(`${JSON.stringify(result)}\n`);
    return code;
  } catch (e) {
    // A bad line of the input file is bad input, like a bad flag: nothing more is sent.
    if (hasCode(e, ERR.REPLAY_BAD_LINE)) {
      err.write(`${errorLine(e)}\n`);
      return EXIT_USAGE;
    }
    throw e;
  } finally {
    await sink.close().catch(() => undefined);
  }
}

/** The world or file the flags name (exactly one of them: replayConfig checked it). */
function openSource(config: ReplayConfig): FileSource | SimulatedSource {
  if (config.events !== null) {
    return simulatedSource({
      seed: config.seed,
      maxEvents: config.events,
      ...(config.skus === null ? {} : { skuCount: config.skus }),
      ...(config.startTimeMs === null ? {} : { startTimeMs: config.startTimeMs }),
    });
  }
  if (config.file === null) throw flagError('--events', 'give either --events or --file');
  try {
    return fileSource(config.file);
  } catch (e) {
    throw flagError('--file', (e as Error).message);
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  return runReplayCli(argv);
}

runMain(import.meta.url, main);
