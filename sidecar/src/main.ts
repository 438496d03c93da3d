/**
 * The sidecar's process entry (`npm run serve -- --help` lists the flags).
 *
 *   node --import tsx sidecar/src/main.ts serve --region eu-west [--regions-file regions.json] \
 *     [--redis redis://127.0.0.1:6379] [--model models/<version> | --rules-only] \
 *     [--http-port 8787] [--grpc-port 8788] [--host 127.0.0.1] \
 *     [--mode enforce|shadow|off] [--enforce model|baseline|naive] \
 *     [--world-clock <simEpochMs>@<wallEpochMs>x<speed>] \
 *     [--decision-log <file>|stdout|off] [--decision-stream kafka://h:p[,h:p]|file:PATH|off] \
 *     [--hot-cache-records 1000000] [--log-level info] \
 *     [--feature-audit served.ndjson [--feature-audit-rate 0.01]] [--drift-window-rows 5000] [--drift-window-s 60] \
 *     [--failover-for <region> ...] \
 *     [--control-plane host:port --control-url http://host:port --control-token-file f \
 *      --state-dir dir --trusted-key pub.pem --control-snapshot-key snapshot.pub.pem \
 *      [--control-ca ca.pem [--control-cert c.pem --control-key c.key]] [--models-root dir] [--sidecar-id id]]
 *
 * Without --redis the sidecar runs on its embedded in-memory stores (empty
 * until something feeds them). Without --model it answers with the committed
 * trained bundle (models/CURRENT, verified like any bundle); --rules-only, or
 * a bundle that fails verification, leaves the rule scorer answering, every
 * answer flagged `degraded: model`. --failover-for answers a failed
 * neighbour's buyers from the escrow budgets it keeps in --redis (flagged
 * `region-failover`; escrow/failover-service.ts). With --control-plane the control plane's
 * rollouts choose the model (no local default is loaded). Logs are pino JSON on stdout; once both edges
 * listen it logs `{"event":"listening","httpPort":..,"grpcPort":..}`.
 * SIGTERM/SIGINT stop it cleanly. Exit codes (platform flags): EXIT_OK,
 * EXIT_FAILED (start failed), EXIT_USAGE (bad flags, `CODE --flag: problem`
 * on stderr).
 */
import { readFileSync } from 'node:fs';
import { toAtpError } from '@mercato/platform/errors';
import { collect, createProgram, EXIT_FAILED, EXIT_OK, onAction, runProgram } from '@mercato/platform/flags';
import { waitForStopSignal } from '@mercato/platform/lifecycle';
import { createLogger } from '@mercato/platform/logger';
import { runMain } from '@mercato/platform/run-main';
import { parseFailoverFor, type RawFailoverFlags } from './cli/failover-flags.js';
import { parseServeFlags, type RawServeFlags, type ServeConfig } from './cli/serve-flags.js';
import { parseControlLinkFlags, type RawControlLinkFlags } from './control/control-link.js';
import { NdjsonFileSink, StdoutSink } from './decision-log/decision-log-sinks.js';
import { createDecisionEventSink } from './decision-log/decision-stream-sinks.js';
import { ERR } from './errors.js';
import { connectEscrowBudgets } from './escrow-wiring.js';
import { connectRedisStores } from './redis-wiring.js';
import { createSidecar, type SidecarConfig } from './sidecar.js';

/** Runs `serve` until a stop signal (or `until`, in tests); resolves with the exit code. */
export async function runServe(config: ServeConfig, until?: Promise<void>): Promise<number> {
  const logger = createLogger({ level: config.logLevel });
  // Decision records are user-level data: their file stays on this region's disk (the guard says so, or refuses).
  if (config.decisionLog !== null && config.decisionLog !== 'stdout') {
    config.residency.clear('user-level', { kind: 'file', path: config.decisionLog }, '--decision-log');
  }
  const sc: SidecarConfig = {
    region: config.region,
    host: config.host,
    httpPort: config.httpPort,
    grpcPort: config.grpcPort,
    mode: config.mode,
    enforce: config.enforce,
    clock: config.clock.now,
    logger,
    hotCacheRecords: config.hotCacheRecords === 0 ? false : config.hotCacheRecords,
    decisionLogSink:
      config.decisionLog === null
        ? null
        : config.decisionLog === 'stdout'
          ? new StdoutSink()
          : new NdjsonFileSink(config.decisionLog),
    decisionStreamSink:
      config.decisionStream === null
        ? null
        : createDecisionEventSink(config.decisionStream, config.residency, logger),
    ...(config.modelDir === null ? {} : { modelDir: config.modelDir }),
    rulesOnly: config.modelChoice === 'rules-only',
    holdTokens: config.holds.tokens,
    batchMaxAgeMs: config.batchMaxAgeMs,
    ...(config.controlLink === null ? {} : { controlLink: config.controlLink }),
    drift: { windowRows: config.drift.windowRows, windowMs: config.drift.windowMs },
    featureAudit:
      config.featureAudit === null
        ? null
        : { sink: new NdjsonFileSink(config.featureAudit.path), rate: config.featureAudit.rate },
  };
  try {
    if (config.redisUrl !== null) {
      const stores = await connectRedisStores(config.redisUrl, config.region, {
        clock: config.clock,
        logger,
        holdJournalPath: config.holds.journalPath,
        holdWaitReplicas: config.holds.waitReplicas,
        holdWaitMs: config.holds.waitMs,
      });
      sc.featureReader = stores.featureReader;
      sc.nodeDirectory = stores.nodeDirectory;
      sc.reservations = stores.reservations;
      sc.streamHealth = stores.streamHealth;
      sc.closers = stores.closers;
      if ((config.failoverFor ?? []).length > 0) {
        const escrow = await connectEscrowBudgets(config.redisUrl, config.region);
        sc.failover = { origins: config.failoverFor ?? [], budgets: escrow.budgets };
        sc.closers.push(escrow.close);
      }
    }
  } catch (err) {
    logger.fatal({ code: ERR.UNAVAILABLE.code, err: toAtpError(err).message }, 'cannot reach Redis');
    return EXIT_FAILED;
  }
  const sidecar = createSidecar(sc);
  let ports: { httpPort: number; grpcPort: number };
  try {
    ports = await sidecar.start();
  } catch (err) {
    const e = toAtpError(err);
    logger.fatal({ code: e.code, err: e.message }, 'start failed');
    await sidecar.stop().catch(() => undefined);
    return EXIT_FAILED;
  }
  logger.info(
    { event: 'listening', ...ports, region: config.region, modelVersion: sidecar.engine.modelVersion },
    'listening',
  );
  await waitForStopSignal(until);
  await sidecar.stop();
  logger.info({ event: 'stopped' }, 'stopped');
  logger.flush();
  return EXIT_OK;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram('atp-sidecar', 'the ATP decision sidecar');
  const serve = program
    .command('serve')
    .description('answer ATP decisions over HTTP/JSON and gRPC')
    .requiredOption('--region <name>', 'region this sidecar serves (known to the region registry)')
    .option(
      '--regions-file <file>',
      'region registry to validate against ({"regions": [...]}, as the control plane takes); default: eu-central, eu-west, us-east',
    )
    .option(
      '--failover-for <region>',
      "answer this neighbour region's buyers while it is down, only from the escrow budgets it keeps in --redis; repeatable",
      collect,
      [],
    )
    .option('--host <addr>', 'address to bind')
    .option('--http-port <port>', 'HTTP port (0 = any free port)')
    .option('--grpc-port <port>', 'gRPC port (0 = any free port)')
    .option('--redis <url>', 'regional Redis (features, directory, reservations); default: in-memory')
    .option('--model <dir>', 'model bundle folder (models/<version>) or models root; default: models/CURRENT')
    .option('--rules-only', 'answer with the rule scorer (flagged degraded: model); no model is loaded')
    .option('--mode <mode>', 'mode when no control route matches: off | shadow | enforce')
    .option(
      '--enforce <side>',
      'which side answers: model (baseline without a model) | baseline (rule scorer) | naive (on hand - reserved >= qty)',
    )
    .option('--decision-log <dest>', 'decision-log NDJSON: a file path, stdout, or off')
    .option(
      '--decision-stream <dest>',
      'atp.decision.v1 events: kafka://host:port[,host:port] (topic atp.decisions.<region>), file:PATH (NDJSON), or off',
    )
    .option('--hot-cache-records <n>', 'hot cache bound in (sku,node) records; 0 = no cache')
    .option(
      '--feature-audit <file>',
      'served feature vectors of a sample of scored requests, NDJSON for `npm run skew-audit`; default off',
    )
    .option('--feature-audit-rate <share>', 'share of scored requests audited (default 0.01)')
    .option('--drift-window-rows <n>', 'served rows that close a drift window (default 5000, min 200)')
    .option(
      '--drift-window-s <s>',
      'a drift window older than this closes once it holds 200 rows (default 60)',
    )
    .option(
      '--hold-key-file <path>',
      "hold-token key shared by the region's sidecars (32+ bytes); default: per process",
    )
    .option(
      '--hold-journal <path>',
      'hold journal file, replayed after Redis lost its holds; default: memory only',
    )
    .option(
      '--hold-wait-replicas <n>',
      'hot-SKU holds wait for n replica acknowledgements (Redis WAIT); default 0',
    )
    .option('--hold-wait-ms <ms>', 'bound of that wait in ms (default 5)')
    .option('--log-level <level>', 'pino log level')
    .option(
      '--batch-max-age-h <hours>',
      'batch node features older than this are flagged batch-stale (default 36)',
    )
    .option(
      '--world-clock <spec>',
      'business time of a closed-loop world, <simEpochMs>@<wallEpochMs>x<speed>; default: the wall clock',
    )
    .option('--control-plane <host:port>', "control plane's watch stream (gRPC); default: embedded snapshot")
    .option('--control-url <url>', 'control plane admin URL, for model bundle downloads')
    .option('--control-token-file <path>', 'file holding a viewer token for the control plane')
    .option('--state-dir <dir>', 'where the last good snapshot and the bundle cache live')
    .option('--trusted-key <path>', 'bundle signing public key (PEM); repeatable', collect, [])
    .option('--models-root <dir>', 'shared models root instead of downloading bundles')
    .option('--sidecar-id <id>', 'name reported to the control plane')
    .option(
      '--control-snapshot-key <path>',
      "control plane's snapshot signing public key (PEM file or folder); repeatable; required with --control-plane",
      collect,
      [],
    )
    .option('--control-insecure-unsigned-snapshots', 'accept unsigned control snapshots (development only)')
    .option(
      '--control-ca <path>',
      "CA of the control plane's certificate: TLS for the watch stream and bundles",
    )
    .option('--control-cert <path>', 'client certificate for mTLS to the control plane (with --control-key)')
    .option('--control-key <path>', 'private key of --control-cert')
    .option(
      '--control-insecure-plaintext',
      'send the bearer token without TLS to a non-loopback control plane (only inside an encrypting mesh)',
    );
  onAction(serve, (opts: RawServeFlags & RawControlLinkFlags & RawFailoverFlags) => {
    // A refused flag throws INVALID_FLAG naming it: runProgram prints it and exits EXIT_USAGE.
    const config = parseServeFlags(opts);
    config.failoverFor = parseFailoverFor(
      opts.failoverFor,
      config.region,
      config.residency.registry,
      config.redisUrl,
    );
    config.controlLink = parseControlLinkFlags(opts, config.region, (p) => readFileSync(p, 'utf8'));
    // A watched control plane rolls models out itself: the committed default is not loaded beside it.
    if (config.controlLink !== null && config.modelChoice === 'default') config.modelDir = null;
    return runServe(config);
  });
  return runProgram(program, argv);
}

runMain(import.meta.url, main);
