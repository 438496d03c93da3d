/**
 * The data plane as its own process (its one composition root): the
 * compiled filter (build/atp-filter.wasm, built first when missing or stale)
 * in the emulator's local data plane, in front of an upstream, calling one
 * sidecar. The local stand-in for Envoy that `npm start` and the closed-loop
 * world run; production is Envoy with the same .wasm (mesh-config/).
 *
 *   atp-data-plane --upstream 127.0.0.1:8081 --sidecar 127.0.0.1:8090 \
 *     [--port 8080] [--host 127.0.0.1] [--log-level info] [--world-clock <spec>] \
 *     ( --region eu-west [--route /checkout=enforce]... [--timeout-ms 25] | --plugin-config <file.json> )
 *
 * (or `npm run data-plane -- ...`, or node --import tsx on this file).
 * Logs are pino JSON on stdout (the filter's own log lines too, with
 * `source: "filter"`); once it serves it logs `{"event":"listening","port":..}`.
 * `GET /__atp/ready` answers its readiness (not forwarded). SIGTERM/SIGINT
 * stop it cleanly. Exit codes (platform): 0 ok, 1 start failed, 2 bad flags
 * (the message names the flag; also a plugin configuration the filter
 * refuses), 3 the stop did not finish within STOP_DEADLINE_MS.
 */
import { hasCode, toAtpError } from '@mercato/platform/errors';
import {
  type Command,
  collect,
  createProgram,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_STOP_TIMED_OUT,
  flagError,
  onAction,
  runProgram,
} from '@mercato/platform/flags';
import { settleWithin, waitForStopSignal } from '@mercato/platform/lifecycle';
import { createLogger, type Logger } from '@mercato/platform/logger';
import { runMain } from '@mercato/platform/run-main';
import type { LogLevelName } from '../emulator/abi.js';
import { createLocalDataPlane, type LocalDataPlane, READINESS_PATH } from '../emulator/local-data-plane.js';
import type { LogEntry } from '../emulator/vm-options.js';
import { ERR } from '../errors.js';
import { buildWasmFilter } from '../scripts/build.js';
import {
  type DataPlaneConfig,
  type DataPlaneFlags,
  type DataPlaneLogLevel,
  DEFAULT_HOST,
  DEFAULT_LOG_LEVEL,
  DEFAULT_PORT,
  DEFAULT_ROUTES,
  LOG_LEVELS,
  TIMEOUT_MS_RANGE,
  validateDataPlaneFlags,
} from './data-plane-config.js';

export const LOGGER_NAME = 'atp-data-plane';
/** A stop (requests in flight get STOP_GRACE_MS, then the VM closes) that takes longer ends the process anyway. */
export const STOP_DEADLINE_MS = 5_000;

/** The filter's proxy_log levels each process log level lets through (pino level -> the VM's minimum). */
const FILTER_LOG_LEVEL: Record<DataPlaneLogLevel, LogLevelName> = {
  fatal: 'critical',
  error: 'error',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
  silent: 'critical',
};
const PINO_LEVEL: Record<LogLevelName, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  critical: 'fatal',
};

export function dataPlaneProgram(until?: Promise<void>): Command {
  const program = createProgram(
    'atp-data-plane',
    'The ATP checkout filter (build/atp-filter.wasm) in the emulator: a local data plane in front of an upstream, calling the sidecar.',
  )
    .option('--port <port>', `port to listen on (default ${DEFAULT_PORT}; 0 = any free port)`)
    .option('--host <addr>', `address to bind (default ${DEFAULT_HOST})`)
    .option('--upstream <host:port>', 'the application the checkouts go to (required)')
    .option(
      '--sidecar <host:port>',
      "the pod's ATP sidecar (HTTP edge), the filter's sidecar cluster (required)",
    )
    .option(
      '--plugin-config <file.json>',
      'the whole plugin configuration (wasm-filter/README.md), instead of:',
    )
    .option('--region <name>', 'region the filter sends and caches under (required without --plugin-config)')
    .option(
      '--route <prefix=mode>',
      `a route the filter intercepts, mode off | shadow | enforce; repeatable (default ${DEFAULT_ROUTES.join(' ')})`,
      collect,
    )
    .option(
      '--timeout-ms <ms>',
      `sidecar call timeout, ${TIMEOUT_MS_RANGE.min}..${TIMEOUT_MS_RANGE.max} (default: the filter's, 25)`,
    )
    .option('--log-level <level>', `${LOG_LEVELS.join(' | ')} (default ${DEFAULT_LOG_LEVEL})`)
    .option(
      '--world-clock <spec>',
      "the filter's clock: a closed-loop world's <simEpochMs>@<wallEpochMs>x<speed> (default: the wall clock)",
    );
  onAction(program, (flags: DataPlaneFlags) => runDataPlane(flags, until));
  return program;
}

/** Serves until SIGTERM / SIGINT (or `until` settles, in tests); resolves with the exit code. */
export async function runDataPlane(flags: DataPlaneFlags, until?: Promise<void>): Promise<number> {
  // Bad flags throw an INVALID_FLAG: runProgram prints it and exits EXIT_USAGE.
  const config = validateDataPlaneFlags(flags);
  const logger = createLogger({ name: LOGGER_NAME, level: config.logLevel });
  let plane: LocalDataPlane;
  let port: number;
  try {
    const build = await buildWasmFilter({ log: (line) => logger.info({ event: 'build' }, line) });
    plane = createDataPlane(config, build.outPath, logger);
    ({ port } = await plane.start());
  } catch (err) {
    const refused = hasCode(toAtpError(err), ERR.FILTER_REFUSED_TO_START);
    const e = refused ? flagError(config.pluginConfigFlag, toAtpError(err).message) : toAtpError(err);
    logger.fatal({ code: e.code, err: e.message }, 'start failed');
    logger.flush();
    if (refused) throw e;
    return EXIT_FAILED;
  }
  logger.info(
    {
      event: 'listening',
      port,
      host: config.host,
      upstream: `${config.upstream.host}:${config.upstream.port}`,
      sidecar: `${config.sidecar.host}:${config.sidecar.port}`,
      readiness: READINESS_PATH,
    },
    'listening',
  );
  await waitForStopSignal(until);
  const stop = await settleWithin(plane.stop(), STOP_DEADLINE_MS);
  if (stop === 'late') logger.error({ deadlineMs: STOP_DEADLINE_MS }, 'stop did not finish in time');
  else logger.info({ event: 'stopped' }, 'stopped');
  logger.flush();
  return stop === 'late' ? EXIT_STOP_TIMED_OUT : EXIT_OK;
}

/** New(config): the local data plane with the filter's log lines in the process log. */
function createDataPlane(config: DataPlaneConfig, wasmPath: string, logger: Logger): LocalDataPlane {
  return createLocalDataPlane({
    port: config.port,
    host: config.host,
    wasmPath,
    pluginConfig: config.pluginConfig,
    upstream: config.upstream,
    clusters: { [config.sidecarCluster]: config.sidecar },
    logLevel: FILTER_LOG_LEVEL[config.logLevel],
    now: config.clock.now,
    onLog: (entry: LogEntry) =>
      logger[PINO_LEVEL[entry.level]]({ source: 'filter', contextId: entry.contextId }, entry.message),
  });
}

export function main(argv: readonly string[]): Promise<number> {
  return runProgram(dataPlaneProgram(), argv);
}

runMain(import.meta.url, main);
