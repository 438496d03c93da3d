/**
 * Command line of the `ingest` mode:
 *
 *   node --import tsx sidecar/src/ingest/ingest-cli.ts \
 *     --brokers 127.0.0.1:9092 --redis redis://127.0.0.1:6379 --region eu-west
 *
 * Flags are validated at the edge (errors name the flag), then the ingester
 * runs until SIGTERM or SIGINT, when it commits what it applied, leaves the
 * group and exits 0. Exit 2 = bad flags, 1 = could not start, 3 = the stop
 * did not finish within STOP_DEADLINE_MS (whatever was not committed is
 * re-delivered to the next owner).
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { settleWithin, waitForStopSignal } from '@mercato/platform/lifecycle';
import { type IngestConfig, validateIngestConfig } from './ingest-config.js';
import { INGEST_ERR, IngestError } from './ingest-errors.js';
import { createIngester, type Ingester } from './ingester.js';

export const EXIT_OK = 0;
export const EXIT_START_FAILED = 1;
export const EXIT_USAGE = 2;
/** A graceful stop (finish the batch in flight, commit, leave the group) gets this long; then the process exits anyway. */
export const STOP_DEADLINE_MS = 25_000;
export const EXIT_STOP_TIMED_OUT = 3;

const USAGE = `usage: ingest-cli --brokers HOST:PORT[,...] --redis redis://HOST:PORT --region REGION [options]

  --brokers LIST              bootstrap brokers (required)
  --redis URL                 regional feature store (required)
  --region NAME               region; topic = inventory.mutations.<region> (required)
  --group-id ID               consumer group (default atp-ingest-<region>)
  --client-id ID              client id (default atp-ingest-<region>-<pid>)
  --topic NAME                override the topic
  --dlq-topic NAME            override the dead-letter topic (default <topic>.dlq)
  --from-latest               a new group starts at the log end instead of the beginning
  --session-timeout-ms N      group session timeout (default 30000)
  --heartbeat-interval-ms N   (default 3000, at most a third of the session timeout)
  --concurrency N             partitions processed at once (default 4)
  --max-apply-chunk N         events per feature-store write (default 2000)
  --max-wait-ms N             longest a fetch waits for data (default 100)
  --commit-interval-ms N      least time between two commits of a partition (default 1000; 0 = every batch)
  --metrics-port N|off        metrics and health HTTP port (default 9464; 0 = any free port)
  --metrics-host HOST         (default 0.0.0.0)
  --log-level LEVEL           fatal|error|warn|info|debug|trace|silent (default info)
`;

/** Config field -> the flag that sets it, so validation errors name what the user typed. */
const FLAG_OF: Record<string, string> = {
  brokers: '--brokers',
  redisUrl: '--redis',
  region: '--region',
  groupId: '--group-id',
  clientId: '--client-id',
  topic: '--topic',
  deadLetterTopic: '--dlq-topic',
  sessionTimeoutMs: '--session-timeout-ms',
  heartbeatIntervalMs: '--heartbeat-interval-ms',
  partitionsConsumedConcurrently: '--concurrency',
  maxApplyChunkEvents: '--max-apply-chunk',
  maxWaitTimeMs: '--max-wait-ms',
  commitIntervalMs: '--commit-interval-ms',
  metricsPort: '--metrics-port',
  metricsHost: '--metrics-host',
  logLevel: '--log-level',
};

/** Parses and validates argv (without node and script); throws IngestError naming the flag. */
export function parseIngestArgs(argv: readonly string[]): IngestConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        brokers: { type: 'string' },
        redis: { type: 'string' },
        region: { type: 'string' },
        'group-id': { type: 'string' },
        'client-id': { type: 'string' },
        topic: { type: 'string' },
        'dlq-topic': { type: 'string' },
        'from-latest': { type: 'boolean' },
        'session-timeout-ms': { type: 'string' },
        'heartbeat-interval-ms': { type: 'string' },
        concurrency: { type: 'string' },
        'max-apply-chunk': { type: 'string' },
        'max-wait-ms': { type: 'string' },
        'commit-interval-ms': { type: 'string' },
        'metrics-port': { type: 'string' },
        'metrics-host': { type: 'string' },
        'log-level': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new IngestError(INGEST_ERR.CONFIG, (err as Error).message, '$');
  }
  const raw = {
    brokers: values.brokers ?? [],
    redisUrl: values.redis,
    region: values.region,
    groupId: values['group-id'],
    clientId: values['client-id'],
    topic: values.topic,
    deadLetterTopic: values['dlq-topic'],
    fromBeginning: values['from-latest'] !== true,
    sessionTimeoutMs: values['session-timeout-ms'],
    heartbeatIntervalMs: values['heartbeat-interval-ms'],
    partitionsConsumedConcurrently: values.concurrency,
    maxApplyChunkEvents: values['max-apply-chunk'],
    maxWaitTimeMs: values['max-wait-ms'],
    commitIntervalMs: values['commit-interval-ms'],
    metricsPort: values['metrics-port'] === 'off' ? null : values['metrics-port'],
    metricsHost: values['metrics-host'],
    logLevel: values['log-level'],
  };
  try {
    return validateIngestConfig(raw);
  } catch (err) {
    if (err instanceof IngestError && err.field !== undefined && FLAG_OF[err.field] !== undefined) {
      throw new IngestError(
        err.spec,
        err.message.replace(err.field, FLAG_OF[err.field]!),
        FLAG_OF[err.field],
      );
    }
    throw err;
  }
}

/**
 * Runs the ingester until SIGTERM/SIGINT (or `until` resolves) and returns
 * the exit code. This is what the sidecar's main entry calls for `ingest`.
 */
export async function runIngest(argv: readonly string[], until?: Promise<void>): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  let config: IngestConfig;
  try {
    config = parseIngestArgs(argv);
  } catch (err) {
    process.stderr.write(
      `${(err as IngestError).code ?? 'ATP_ERR_INGEST_CONFIG'}: ${(err as Error).message}\n\n${USAGE}`,
    );
    return EXIT_USAGE;
  }
  const ingester: Ingester = createIngester(config);
  try {
    await ingester.start();
  } catch (err) {
    const code = err instanceof IngestError ? err.code : 'ATP_ERR_INGEST_START';
    process.stderr.write(`${code}: ${(err as Error).message}\n`);
    await ingester.stop().catch(() => undefined);
    return EXIT_START_FAILED;
  }
  await waitForStopSignal(until);
  // Uncommitted work is re-delivered to the next owner, so a stop that cannot finish may be cut short.
  if ((await settleWithin(ingester.stop(), STOP_DEADLINE_MS)) === 'late') {
    process.stderr.write(`ATP_ERR_INGEST_STOP_TIMEOUT: not stopped within ${STOP_DEADLINE_MS} ms; exiting\n`);
    return EXIT_STOP_TIMED_OUT;
  }
  return EXIT_OK;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runIngest(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`${err.stack ?? err.message}\n`);
      process.exit(EXIT_START_FAILED);
    },
  );
}
