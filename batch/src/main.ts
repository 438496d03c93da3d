/**
 * The batch job's composition root (`atp-batch`, `npm run batch`):
 *
 *   atp-batch directory --region eu-west --redis redis://H:P --from nodes.ndjson
 *   atp-batch features  --region eu-west --redis redis://H:P \
 *       (--events-file events.ndjson [--outcomes-file outcomes.ndjson] | --brokers H:P[,H:P])
 *       [--window-h 168] [--now-ms T] [--every-s N]
 *   atp-batch escrow budget|reconcile ...   (cross-region failover budgets: cli/escrow-commands.ts)
 *
 * `directory` publishes the node directory; `features` computes the batch
 * node features from the window of history and publishes them. Each publish
 * writes a new version and switches the region's pointer to it atomically;
 * sidecars pick it up on their next refresh and report the version they
 * serve. Runs once (a Kubernetes CronJob), or every N seconds with
 * `--every-s` (the local system and the closed-loop world). One JSON line
 * per publish on stdout; errors name the flag or the input line. Exit codes:
 * 0 ok, 1 failed (nothing switched), 2 bad flags or input.
 */
import { connectRedis } from '@mercato/adapters/redis/redis-client';
import { parseRedisUrl } from '@mercato/adapters/redis/redis-url';
import {
  createProgram,
  EXIT_OK,
  flagError,
  intFlag,
  listFlag,
  onAction,
  parsedFlag,
  requiredFlag,
  runProgram,
} from '@mercato/platform/flags';
import { createLogger } from '@mercato/platform/logger';
import { runMain } from '@mercato/platform/run-main';
import { parseRegionName } from '@mercato/proto/v1/regions';
import { mutationsTopic, outcomesTopic } from '@mercato/proto/v1/topics';
import { kafkaEventHistory, kafkaOutcomeHistory } from './adapters/kafka-history.js';
import { ndjsonEventHistory, ndjsonOutcomeHistory, readDirectoryFile } from './adapters/ndjson-history.js';
import { redisNodeSetPublisher } from './adapters/redis-publisher.js';
import { addEscrowCommands } from './cli/escrow-commands.js';
import { runEvery } from './cli/run-every.js';
import { runDirectoryJob } from './directory-job.js';
import { DEFAULT_WINDOW_MS, runFeaturesJob } from './features-job.js';
import type { EventHistory, OutcomeHistory } from './ports.js';

const MAX_WINDOW_H = 24 * 90;
const MAX_EVERY_S = 7 * 86_400;

interface CommonFlags {
  region?: string;
  redis?: string;
}

interface FeaturesFlags extends CommonFlags {
  eventsFile?: string;
  outcomesFile?: string;
  brokers?: string;
  windowH?: string;
  nowMs?: string;
  everyS?: string;
}

function common(f: CommonFlags): { region: string; redisUrl: string } {
  return {
    region: parsedFlag(requiredFlag(f.region, '--region', 'the region to publish for'), '--region', (s) =>
      parseRegionName(s),
    ),
    redisUrl: parsedFlag(requiredFlag(f.redis, '--redis', 'the regional Redis URL'), '--redis', (s) => {
      parseRedisUrl(s);
      return s;
    }),
  };
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function directory(flags: CommonFlags & { from?: string }): Promise<number> {
  const { region, redisUrl } = common(flags);
  const from = requiredFlag(flags.from, '--from', 'an NDJSON file of node.directory.v1 entries');
  const nodes = await readDirectoryFile(from);
  const redis = await connectRedis(redisUrl, 'write');
  try {
    const r = await runDirectoryJob(region, nodes, redisNodeSetPublisher(redis, region), Date.now());
    print({ event: 'directory_published', region, ...r });
    return EXIT_OK;
  } finally {
    redis.disconnect();
  }
}

async function features(flags: FeaturesFlags): Promise<number> {
  const { region, redisUrl } = common(flags);
  const windowMs =
    intFlag(flags.windowH, '--window-h', { min: 1, max: MAX_WINDOW_H }, DEFAULT_WINDOW_MS / 3_600_000) *
    3_600_000;
  const fixedNow = intFlag(flags.nowMs, '--now-ms', { min: 946_684_800_000, max: 4_102_444_800_000 });
  const everyS = intFlag(flags.everyS, '--every-s', { min: 1, max: MAX_EVERY_S });
  let events: EventHistory;
  let outcomes: OutcomeHistory | null;
  if (flags.brokers !== undefined) {
    if (flags.eventsFile !== undefined) {
      throw flagError('--events-file', 'give either --brokers or --events-file, not both');
    }
    const opts = {
      brokers: listFlag(flags.brokers, '--brokers'),
      clientId: `atp-batch-${region}`,
      logger: createLogger({ name: 'atp-batch', level: 'warn' }),
    };
    events = kafkaEventHistory(mutationsTopic(region), opts);
    outcomes = kafkaOutcomeHistory(outcomesTopic(region), opts);
  } else {
    events = ndjsonEventHistory(
      requiredFlag(flags.eventsFile, '--events-file', 'an NDJSON event history, or --brokers'),
    );
    outcomes = flags.outcomesFile === undefined ? null : ndjsonOutcomeHistory(flags.outcomesFile);
  }
  const redis = await connectRedis(redisUrl, 'write');
  const publisher = redisNodeSetPublisher(redis, region);
  const once = async () => {
    const r = await runFeaturesJob(
      { region, events, outcomes, windowMs, nowMs: fixedNow ?? Date.now() },
      publisher,
    );
    print({ event: 'batch_published', region, ...r });
  };
  try {
    await runEvery('batch-features', everyS, once, (err) =>
      print({ event: 'batch_failed', region, error: err.message }),
    );
    return EXIT_OK;
  } finally {
    redis.disconnect();
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram(
    'atp-batch',
    'publish the node directory and batch node features of a region',
  );
  const withCommon = (c: ReturnType<typeof program.command>) =>
    c
      .option('--region <name>', 'region to publish for (required)')
      .option(
        '--redis <url>',
        'the regional Redis: redis://, rediss:// or redis+cluster://h:p,h:p (required)',
      );
  onAction(
    withCommon(program.command('directory').description('validate and publish the node directory')).option(
      '--from <file>',
      'NDJSON file, one node.directory.v1 entry per line (required)',
    ),
    directory,
  );
  onAction(
    withCommon(program.command('features').description('compute and publish batch node features'))
      .option('--events-file <file>', 'NDJSON inventory events (a line may carry delivered_at_ms)')
      .option('--outcomes-file <file>', 'NDJSON order outcomes (handling adherence)')
      .option('--brokers <list>', "read the region's event and outcome topics instead of files")
      .option('--window-h <hours>', `history window in hours (default ${DEFAULT_WINDOW_MS / 3_600_000})`)
      .option('--now-ms <ms>', 'end of the window (default: now)')
      .option('--every-s <seconds>', 'run again every N seconds until SIGTERM (default: once)'),
    features,
  );
  addEscrowCommands(program);
  return runProgram(program, argv);
}

runMain(import.meta.url, main);
