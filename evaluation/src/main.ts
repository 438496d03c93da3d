/**
 * The outcome join's entry and composition root (`atp-evaluate`):
 *
 *   atp-evaluate run --region eu-west --db eval.sqlite --brokers H:P[,H:P]
 *       [--group-id atp-evaluate-<region>] [--horizon-ms N] [--lateness-ms N] [--http-port 9470]
 *       [--session-timeout-ms 30000]
 *       [--control-plane URL --control-token-file F [--guardrail-period-ms 1000]]
 *   atp-evaluate run --region eu-west --db eval.sqlite \
 *       --decisions-file decisions.ndjson --outcomes-file outcomes.ndjson [--dlq-file F] [--close-all]
 *   atp-evaluate report --db eval.sqlite [--region R] [--arm A] [--confidence 0.95] [--json]
 *       [--html impact.html] [--json-file impact.json] [--control-arm A] [--expected-shares a=1,b=1]
 *       [--margin-per-sale N] [--cost-per-oversell N] [--cost-per-cancellation N] [--currency EUR]
 *       [--economics FILE.json] [--pre-db pre.sqlite] [--alpha 0.05]
 *
 * `run` joins `atp.decisions.<region>` and `order.outcomes.<region>` (Kafka,
 * until SIGTERM/SIGINT) or two NDJSON files (until their end) into the SQLite
 * store, serving GET /metrics and GET /v1/evaluation meanwhile; malformed
 * records go to `<topic>.dlq` (Kafka) or the --dlq-file (files) with the
 * field and reason. `report` reads the store; with --html or --json-file it also writes
 * the business-impact report (src/report/business-impact.ts) to those files. Exit codes: 0 ok, 1 failed,
 * 2 bad flags, 3 the stop did not finish in time.
 */
import { resolve } from 'node:path';
import {
  createProgram,
  EXIT_OK,
  EXIT_STOP_TIMED_OUT,
  flagError,
  intFlag,
  listFlag,
  numberFlag,
  onAction,
  parsedFlag,
  portFlag,
  requiredFlag,
  runProgram,
} from '@mercato/platform/flags';
import { waitForStopSignal } from '@mercato/platform/lifecycle';
import { createLogger, type Logger } from '@mercato/platform/logger';
import { runMain } from '@mercato/platform/run-main';
import { parseRegionName } from '@mercato/proto/v1/regions';
import { decisionsTopic, outcomesTopic } from '@mercato/proto/v1/topics';
import { FileDeadLetterSink } from './dead-letters/file-dead-letter-sink.js';
import { KafkaDeadLetterSink } from './dead-letters/kafka-dead-letter-sink.js';
import { EvaluationService, type EvaluationServiceParts } from './evaluation-service.js';
import { readTokenFile } from './guardrail/control-plane-client.js';
import { GUARDRAIL_CHECK_MS } from './guardrail/experiment-monitor.js';
import { impactOptions, type RawImpactFlags, wantsImpact, writeImpact } from './impact-flags.js';
import { DEFAULT_HORIZON_MS, DEFAULT_LATENESS_MS } from './join/outcome-join.js';
import { OUTCOME_LOOKUP_ROWS } from './join/outcome-lookup.js';
import { SqliteJoinStore } from './join/sqlite-join-store.js';
import { clearReportExport, joinResidency } from './join-residency.js';
import { buildReport, formatReport } from './report/evaluation-report.js';
import { DEFAULT_SESSION_TIMEOUT_MS, KafkaRecordSource } from './sources/kafka-record-source.js';
import { NdjsonRecordSource } from './sources/ndjson-record-source.js';
import { DEFAULT_CONFIDENCE } from './stats/wilson-interval.js';

/** Bound of --outcome-lookup-rows (a row is a few hundred bytes of SQLite). */
const MAX_OUTCOME_LOOKUP_ROWS = 10_000_000;
export const DEFAULT_HTTP_PORT = 9470;
export const DEFAULT_HTTP_HOST = '127.0.0.1';
/** `--http-port off`: no HTTP edge. */
export const HTTP_OFF = 'off';
const MAX_WINDOW_MS = 30 * 24 * 3_600_000;
/** The broker's default group.min/max.session.timeout.ms. */
const MIN_SESSION_TIMEOUT_MS = 6_000;
const MAX_SESSION_TIMEOUT_MS = 300_000;
const ARM_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export interface RawRunFlags {
  region?: string;
  regionsFile?: string;
  db?: string;
  brokers?: string;
  groupId?: string;
  clientId?: string;
  decisionsFile?: string;
  outcomesFile?: string;
  dlqFile?: string;
  closeAll?: boolean;
  horizonMs?: string;
  latenessMs?: string;
  outcomeLookupRows?: string;
  sessionTimeoutMs?: string;
  httpPort?: string;
  httpHost?: string;
  logLevel?: string;
  controlPlane?: string;
  controlTokenFile?: string;
  guardrailPeriodMs?: string;
}

/** Validates `run`'s flags into the service's parts (errors name the flag). */
export function runPartsFromFlags(f: RawRunFlags, logger: Logger): EvaluationServiceParts {
  return { ...sourcePartsFromFlags(f, logger), guardrail: guardrailFromFlags(f) };
}

function sourcePartsFromFlags(f: RawRunFlags, logger: Logger): EvaluationServiceParts {
  const region = parsedFlag(
    requiredFlag(f.region, '--region', 'the region whose streams to join'),
    '--region',
    (s) => parseRegionName(s, 'region'),
  );
  const dbPath = requiredFlag(f.db, '--db', 'the SQLite file of the join state and figures');
  const outcomeLookupRows = intFlag(
    f.outcomeLookupRows,
    '--outcome-lookup-rows',
    { min: 0, max: MAX_OUTCOME_LOOKUP_ROWS },
    OUTCOME_LOOKUP_ROWS,
  );
  // A region the registry does not know is refused before anything is read.
  joinResidency(region, f.regionsFile, null);
  const join = {
    region,
    horizonMs: intFlag(f.horizonMs, '--horizon-ms', { min: 1, max: MAX_WINDOW_MS }, DEFAULT_HORIZON_MS),
    latenessMs: intFlag(f.latenessMs, '--lateness-ms', { min: 0, max: MAX_WINDOW_MS }, DEFAULT_LATENESS_MS),
  };
  const http =
    f.httpPort === HTTP_OFF
      ? null
      : {
          port: portFlag(f.httpPort, '--http-port', DEFAULT_HTTP_PORT),
          host: f.httpHost ?? DEFAULT_HTTP_HOST,
        };
  const files = f.decisionsFile !== undefined || f.outcomesFile !== undefined;
  if (files && f.brokers !== undefined)
    throw flagError('--brokers', 'give either --brokers or the two files, not both');
  if (files && f.sessionTimeoutMs !== undefined)
    throw flagError('--session-timeout-ms', 'only with --brokers (a file run has no consumer group)');
  if (files) {
    const decisionsFile = requiredFlag(
      f.decisionsFile,
      '--decisions-file',
      'the decision log (NDJSON) beside --outcomes-file',
    );
    const outcomesFile = requiredFlag(
      f.outcomesFile,
      '--outcomes-file',
      'the outcome log (NDJSON) beside --decisions-file',
    );
    return {
      join,
      dbPath,
      outcomeLookupRows,
      source: new NdjsonRecordSource(decisionsFile, outcomesFile),
      deadLetters: new FileDeadLetterSink(f.dlqFile ?? `${resolve(dbPath)}.dlq.ndjson`),
      http,
      closeAllAtEnd: f.closeAll === true,
      logger,
    };
  }
  if (f.dlqFile !== undefined)
    throw flagError(
      '--dlq-file',
      'only with --decisions-file/--outcomes-file (Kafka dead letters go to <topic>.dlq)',
    );
  if (f.closeAll === true)
    throw flagError('--close-all', 'only with --decisions-file/--outcomes-file (a stream has no end)');
  const brokers = listFlag(
    requiredFlag(f.brokers, '--brokers', 'host:port[,...], or --decisions-file and --outcomes-file'),
    '--brokers',
  );
  const clientId = f.clientId ?? `atp-evaluate-${region}-${process.pid}`;
  joinResidency(region, f.regionsFile, {
    brokers,
    topics: [decisionsTopic(region), outcomesTopic(region)],
  });
  return {
    join,
    dbPath,
    outcomeLookupRows,
    source: new KafkaRecordSource({
      brokers,
      clientId,
      groupId: f.groupId ?? `atp-evaluate-${region}`,
      decisionsTopic: decisionsTopic(region),
      outcomesTopic: outcomesTopic(region),
      logger,
      sessionTimeoutMs: intFlag(
        f.sessionTimeoutMs,
        '--session-timeout-ms',
        { min: MIN_SESSION_TIMEOUT_MS, max: MAX_SESSION_TIMEOUT_MS },
        DEFAULT_SESSION_TIMEOUT_MS,
      ),
    }),
    deadLetters: new KafkaDeadLetterSink({ brokers, clientId, logger }),
    http,
    closeAllAtEnd: false,
    logger,
  };
}

/** --control-plane URL --control-token-file F [--guardrail-period-ms N]: the experiment guardrail monitor. */
function guardrailFromFlags(f: RawRunFlags): EvaluationServiceParts['guardrail'] {
  if (f.controlPlane === undefined) {
    if (f.controlTokenFile !== undefined)
      throw flagError('--control-token-file', 'only with --control-plane');
    return null;
  }
  let url: URL;
  try {
    url = new URL(f.controlPlane);
  } catch {
    throw flagError('--control-plane', `expected the control plane's admin URL, got "${f.controlPlane}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw flagError('--control-plane', `expected an http(s):// URL, got "${f.controlPlane}"`);
  const tokenFile = requiredFlag(
    f.controlTokenFile,
    '--control-token-file',
    'an operator token to stop arms with',
  );
  return {
    url: url.toString(),
    token: readTokenFile(tokenFile),
    periodMs: intFlag(
      f.guardrailPeriodMs,
      '--guardrail-period-ms',
      { min: 100, max: 60_000 },
      GUARDRAIL_CHECK_MS,
    ),
  };
}

async function runCommand(f: RawRunFlags): Promise<number> {
  const logger = createLogger({ name: 'atp-evaluate', level: f.logLevel ?? 'info' });
  const parts = runPartsFromFlags(f, logger);
  const service = new EvaluationService(parts);
  try {
    await service.start();
  } catch (err) {
    await service.stop();
    throw err;
  }
  logger.info(
    { region: parts.join.region, db: parts.dbPath, httpPort: service.httpPort },
    'outcome join running',
  );
  let failed: unknown = null;
  const finished = service.finished().catch((err: unknown) => {
    failed = err;
  });
  await waitForStopSignal(finished);
  const stopped = await service.stop();
  if (failed !== null) throw failed;
  return stopped === 'late' ? EXIT_STOP_TIMED_OUT : EXIT_OK;
}

interface RawReportFlags extends RawImpactFlags {
  db?: string;
  region?: string;
  regionsFile?: string;
  exportRegion?: string;
  arm?: string;
  confidence?: string;
  json?: boolean;
}

async function reportCommand(f: RawReportFlags): Promise<number> {
  const db = requiredFlag(f.db, '--db', 'the SQLite file atp-evaluate run wrote');
  const filter = {
    ...(f.region === undefined
      ? {}
      : { region: parsedFlag(f.region, '--region', (s) => parseRegionName(s, 'region')) }),
    ...(f.arm === undefined ? {} : { arm: armFlag(f.arm) }),
    confidence: numberFlag(f.confidence, '--confidence', { min: 0.5, max: 0.9999 }, DEFAULT_CONFIDENCE),
  };
  if (f.exportRegion !== undefined && !wantsImpact(f))
    throw flagError('--export-region', 'only with --html or --json-file (the files that leave)');
  if (wantsImpact(f) && f.arm !== undefined)
    throw flagError('--arm', 'the business-impact report compares every arm; use --control-arm');
  const impact = wantsImpact(f)
    ? impactOptions(
        f,
        filter.confidence,
        f.controlArm === undefined ? undefined : armFlag(f.controlArm, '--control-arm'),
      )
    : null;
  const store = new SqliteJoinStore(db, { readonly: true });
  try {
    const report = buildReport(store, filter);
    process.stdout.write(f.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    if (impact !== null) {
      const rows = store
        .aggregates()
        .filter((r) => filter.region === undefined || r.region === filter.region);
      if (f.exportRegion !== undefined) {
        const paths = [f.html, f.jsonFile].filter((p): p is string => p !== undefined);
        clearReportExport([...new Set(rows.map((r) => r.region))], f.exportRegion, f.regionsFile, paths);
      }
      for (const file of writeImpact(store, rows, f, impact)) process.stderr.write(`wrote ${file}\n`);
    }
  } finally {
    store.close();
  }
  return EXIT_OK;
}

function armFlag(raw: string, flag = '--arm'): string {
  if (!ARM_RE.test(raw))
    throw flagError(flag, `expected an arm id (letters, digits, . _ : -), got "${raw.slice(0, 40)}"`);
  return raw;
}

export function evaluateProgram() {
  const program = createProgram(
    'atp-evaluate',
    'the outcome join: decisions x order outcomes -> promise, oversell, reliability, conversion and false denials per arm and segment',
  );
  const run = program
    .command('run')
    .description('join the decision and outcome streams (Kafka, or two NDJSON files) into the SQLite store')
    .option('--region <name>', 'region; topics atp.decisions.<region> and order.outcomes.<region> (required)')
    .option(
      '--regions-file <file>',
      'region registry to validate --region and --brokers against ({"regions": [...]}); default: eu-central, eu-west, us-east',
    )
    .option('--db <file>', 'SQLite file of the join state and figures (required; created if absent)')
    .option('--brokers <list>', 'Kafka bootstrap brokers host:port[,...]')
    .option('--group-id <id>', 'consumer group (default atp-evaluate-<region>)')
    .option('--client-id <id>', 'Kafka client id (default atp-evaluate-<region>-<pid>)')
    .option('--decisions-file <file>', 'decision events, NDJSON (instead of Kafka)')
    .option('--outcomes-file <file>', 'order outcomes and stock truths, NDJSON (instead of Kafka)')
    .option('--dlq-file <file>', 'dead letters of a file run (default <db>.dlq.ndjson)')
    .option(
      '--close-all',
      'file run: close every window at the end of the input (unresolved promises counted)',
    )
    .option(
      '--horizon-ms <n>',
      `an outcome counts if resolved within this of its decision (default ${DEFAULT_HORIZON_MS})`,
    )
    .option(
      '--outcome-lookup-rows <n>',
      `item rows kept for the console's outcome lookup by decision id, newest first (default ${OUTCOME_LOOKUP_ROWS}; 0: none)`,
    )
    .option(
      '--lateness-ms <n>',
      `how far behind the newest event a record may arrive and still count (default ${DEFAULT_LATENESS_MS})`,
    )
    .option(
      '--session-timeout-ms <n>',
      `Kafka group session timeout: how long a restart after a crash waits for its partitions (default ${DEFAULT_SESSION_TIMEOUT_MS})`,
    )
    .option(
      '--http-port <n|off>',
      `GET /metrics and /v1/evaluation (default ${DEFAULT_HTTP_PORT}; 0 = any free port)`,
    )
    .option('--http-host <host>', `bind address (default ${DEFAULT_HTTP_HOST})`)
    .option(
      '--control-plane <url>',
      'control plane admin URL: run the experiment guardrail monitor (stops harmful arms)',
    )
    .option('--control-token-file <file>', 'operator token for --control-plane')
    .option('--guardrail-period-ms <n>', `how often the guardrail looks (default ${GUARDRAIL_CHECK_MS})`)
    .option('--log-level <level>', 'pino level (default info)');
  onAction(run, (f: RawRunFlags) => runCommand(f));
  const report = program
    .command('report')
    .description('print the figures with Wilson intervals, per region x arm x model version and per segment')
    .option('--db <file>', 'SQLite file written by atp-evaluate run (required)')
    .option('--region <name>', 'only this region')
    .option(
      '--export-region <name>',
      "the region the --html/--json-file files are for: each reported region needs the registry's metrics flow to it",
    )
    .option('--regions-file <file>', 'region registry for --export-region (default: the product registry)')
    .option('--arm <id>', 'only this arm')
    .option('--confidence <p>', `interval confidence (default ${DEFAULT_CONFIDENCE})`)
    .option('--json', 'the report as JSON (schema atp.evaluation-report.v1)')
    .option('--html <file>', 'write the business-impact report (self-contained HTML with plots) here')
    .option(
      '--json-file <file>',
      'write the business-impact report as JSON (schema atp.business-impact.v1) here',
    )
    .option(
      '--control-arm <id>',
      'arm the others are compared to (default: control, naive, baseline or champion)',
    )
    .option(
      '--expected-shares <list>',
      'planned split for the sample-ratio check, arm=share,... (default equal)',
    )
    .option('--margin-per-sale <n>', 'unit economics: margin of one shipped item')
    .option('--cost-per-oversell <n>', 'unit economics: cost of one short-picked promise')
    .option('--cost-per-cancellation <n>', 'unit economics: cost of one seller cancellation')
    .option('--currency <code>', 'currency of the amounts (default EUR)')
    .option(
      '--economics <file>',
      'unit economics as JSON {margin_per_sale, cost_per_oversell, cost_per_cancellation, currency}',
    )
    .option('--pre-db <file>', 'a store of the pre-period for CUPED (default: the none arm of --db)')
    .option('--alpha <p>', 'always-valid tests: lifetime false-positive rate (default 0.05)');
  onAction(report, (f: RawReportFlags) => reportCommand(f));
  return program;
}

export function main(argv: readonly string[]): Promise<number> {
  return runProgram(evaluateProgram(), argv);
}

runMain(import.meta.url, main);
