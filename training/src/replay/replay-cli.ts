/**
 * Streams a simulated world or a recorded NDJSON file into Kafka (or into
 * the in-memory feature store) at a chosen rate:
 *
 *   npm run replay -- --to kafka --brokers 127.0.0.1:9092 --region eu-west \
 *     --seed 7 --events 200000 --rate 25000 [--duplicate] [--shuffle-ms 3000]
 *   npm run replay -- --to memory --file events.ndjson --verify
 *
 * Progress goes to stderr; one JSON summary line goes to stdout. Exit 2 =
 * bad flags or input, 1 = the sink failed or --verify found a difference.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { mutationsTopic } from '@mercato/proto/v1/topics';
import { pino } from 'pino';
import { SimConfigError } from '../simulator/sim-config.js';
import { fileSource, ReplayInputError, type SimulatedSource, simulatedSource } from './delivery-sources.js';
import { MAX_SHUFFLE_MS } from './perturb-delivery.js';
import { checkAgainstSystemView, runReplay } from './replay.js';
import { KafkaReplaySink, MemoryReplaySink, type ReplaySink } from './replay-sinks.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const REPLAY_ERR_CONFIG = 'ATP_ERR_REPLAY_CONFIG';
export const DEFAULT_BATCH_EVENTS = 500;
export const DEFAULT_SHUFFLE_SHARE = 0.3;

const USAGE = `usage: replay-cli --to kafka|memory (--events N [--seed S] | --file FILE.ndjson) [options]

  --to kafka|memory      produce to Kafka, or apply to the in-memory feature store (no broker)
  --brokers LIST         bootstrap brokers (required with --to kafka)
  --region NAME          topic inventory.mutations.<region> (default eu-west)
  --topic NAME           override the topic
  --events N             simulate a world until it emitted N events (required unless --file)
  --seed S               simulator seed (default 1); also seeds --shuffle-ms
  --skus N               simulated world size in SKUs (default: the simulator's)
  --start-ms T|now       simulated start time in epoch ms, or now (default: the simulator's)
  --file FILE            a recorded NDJSON file of wire events, one per line, in delivery order
  --rate N               events per second (default 0 = as fast as possible)
  --duplicate            deliver every event twice
  --shuffle-ms N         delay a share of events by up to N ms of delivery time (0..${MAX_SHUFFLE_MS})
  --shuffle-share X      share of events delayed (default ${DEFAULT_SHUFFLE_SHARE})
  --batch N              events per produce request (default ${DEFAULT_BATCH_EVENTS})
  --verify               with --to memory and a simulated world: compare with the simulator's system view
  --no-progress          no progress bar on stderr
`;

export class ReplayConfigError extends Error {
  readonly code = REPLAY_ERR_CONFIG;
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'ReplayConfigError';
  }
}

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

const OPTIONS = {
  to: { type: 'string' },
  brokers: { type: 'string' },
  region: { type: 'string' },
  topic: { type: 'string' },
  events: { type: 'string' },
  seed: { type: 'string' },
  skus: { type: 'string' },
  'start-ms': { type: 'string' },
  file: { type: 'string' },
  rate: { type: 'string' },
  duplicate: { type: 'boolean' },
  'shuffle-ms': { type: 'string' },
  'shuffle-share': { type: 'string' },
  batch: { type: 'string' },
  verify: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses and validates argv; every error names the flag. */
export function parseReplayArgs(
  argv: readonly string[],
  nowMs: () => number = Date.now,
): ReplayConfig | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ReplayConfigError('$', (err as Error).message);
  }
  if (values.help === true) return 'help';
  const str = (k: string) => values[k] as string | undefined;
  const to = str('to');
  if (to !== 'kafka' && to !== 'memory') throw new ReplayConfigError('--to', 'expected kafka or memory');
  const brokers = (str('brokers') ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  if (to === 'kafka' && brokers.length === 0)
    throw new ReplayConfigError('--brokers', 'required with --to kafka');
  for (const b of brokers) {
    if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(b))
      throw new ReplayConfigError('--brokers', `"${b}" is not host:port`);
  }
  const region = str('region') ?? 'eu-west';
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(region))
    throw new ReplayConfigError('--region', 'expected e.g. eu-west');
  const topic = str('topic') ?? mutationsTopic(region);
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic))
    throw new ReplayConfigError('--topic', 'not a valid topic name');
  const file = str('file') ?? null;
  const events =
    str('events') === undefined ? null : int('--events', str('events')!, 1, Number.MAX_SAFE_INTEGER);
  if ((file === null) === (events === null))
    throw new ReplayConfigError('--events', 'give either --events or --file');
  const shuffleMs = int('--shuffle-ms', str('shuffle-ms') ?? '0', 0, MAX_SHUFFLE_MS);
  const shareRaw = str('shuffle-share');
  const shuffleShare = shareRaw === undefined ? DEFAULT_SHUFFLE_SHARE : Number(shareRaw);
  if (!Number.isFinite(shuffleShare) || shuffleShare < 0 || shuffleShare > 1) {
    throw new ReplayConfigError('--shuffle-share', 'expected a number in [0, 1]');
  }
  const start = str('start-ms');
  const verify = values.verify === true;
  if (verify && (to !== 'memory' || file !== null)) {
    throw new ReplayConfigError('--verify', 'needs --to memory and a simulated world (--events)');
  }
  return {
    to,
    brokers,
    topic,
    events,
    seed: int('--seed', str('seed') ?? '1', 0, 0xffff_ffff),
    skus: str('skus') === undefined ? null : int('--skus', str('skus')!, 1, 10_000_000),
    startTimeMs:
      start === undefined
        ? null
        : start === 'now'
          ? nowMs()
          : int('--start-ms', start, 946_684_800_000, 4e12),
    file,
    ratePerS: int('--rate', str('rate') ?? '0', 0, 10_000_000),
    duplicate: values.duplicate === true,
    shuffleMs,
    shuffleShare,
    batchSize: int('--batch', str('batch') ?? String(DEFAULT_BATCH_EVENTS), 1, 100_000),
    verify,
    progress: values['no-progress'] !== true,
  };
}

function int(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new ReplayConfigError(flag, `expected an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ReplayConfigError(flag, `must be between ${min} and ${max}`);
  return n;
}

/** Runs one replay from argv; returns the exit code. */
export async function runReplayCli(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
): Promise<number> {
  let config: ReplayConfig | 'help';
  try {
    config = parseReplayArgs(argv);
  } catch (e) {
    err.write(`${(e as ReplayConfigError).code ?? REPLAY_ERR_CONFIG}: ${(e as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (config === 'help') {
    out.write(USAGE);
    return EXIT_OK;
  }
  let sim: SimulatedSource | null = null;
  let source: { total: number; deliveries(): Generator<import('./perturb-delivery.js').Delivery> };
  try {
    if (config.file !== null) {
      source = fileSource(config.file);
    } else {
      sim = simulatedSource({
        seed: config.seed,
        maxEvents: config.events!,
        ...(config.skus === null ? {} : { skuCount: config.skus }),
        ...(config.startTimeMs === null ? {} : { startTimeMs: config.startTimeMs }),
      });
      source = sim;
    }
  } catch (e) {
    if (e instanceof SimConfigError) {
      err.write(`${e.code}: ${e.message}\n`);
      return EXIT_USAGE;
    }
    err.write(`${REPLAY_ERR_CONFIG}: --file: ${(e as Error).message}\n`);
    return EXIT_USAGE;
  }
  const logger = pino({ level: 'warn' }, pino.destination(2));
  let sink: ReplaySink;
  try {
    sink =
      config.to === 'kafka'
        ? await KafkaReplaySink.open(config.brokers, config.topic, logger)
        : new MemoryReplaySink();
  } catch (e) {
    err.write(`ATP_ERR_REPLAY_SINK: cannot reach the brokers: ${(e as Error).message}\n`);
    return EXIT_FAILED;
  }
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
          mismatches: check.mismatches.slice(0, 10),
        });
        if (check.mismatches.length > 0) code = EXIT_FAILED;
      }
    }
    out.write(`${JSON.stringify(result)}\n`);
    return code;
  } catch (e) {
    if (e instanceof ReplayInputError) {
      err.write(`${e.code}: ${e.message}\n`);
      return EXIT_USAGE;
    }
    err.write(`ATP_ERR_REPLAY_SINK: ${(e as Error).message}\n`);
    return EXIT_FAILED;
  } finally {
    await sink.close().catch(() => undefined);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runReplayCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`${e.stack ?? e.message}\n`);
      process.exit(EXIT_FAILED);
    },
  );
}
