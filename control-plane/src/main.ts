/**
 * The control plane's process entry (its one composition root), on the
 * platform flag toolkit:
 *
 *   atp-control-plane serve \
 *     [--db sqlite:control-plane.db | postgres://user@host/db?schema=atp] \
 *     [--host 127.0.0.1] [--http-port 7070] [--grpc-port 7071] \
 *     [--trusted-key <public.pem|dir>]... [--bootstrap-tokens <file.json>] [--log-level info] \
 *     [--signing-key <private.pem>] [--state-dir <dir>] \
 *     [--tls-cert <cert.pem> --tls-key <key.pem> [--tls-client-ca <ca.pem>] | --insecure-plaintext] \
 *     [--max-streams-per-token 4] [--audit-retention-days 400] [--audit-max-rows 5000000] \
 *     [--scrape <region:kind:url>]...
 *
 *   atp-control-plane token create --db ... --name alice --role admin [--ttl 90d (default)] [--sidecar-id <id>]
 *
 * (or `npm run control-plane -- ...`, or node --import tsx on this file).
 * `token create` writes straight to the store (whoever can write the
 * database is already trusted): it is how the first admin token is made.
 * Logs are pino JSON on stdout; once both ports listen it logs
 * `{"event":"listening","httpPort":..,"grpcPort":..}`. SIGTERM/SIGINT stop
 * it cleanly. Exit codes (platform): 0 ok, 1 start failed, 2 bad flags,
 * 3 the stop did not finish within STOP_DEADLINE_MS.
 */
import { readFileSync } from 'node:fs';
import { AtpError, errorLine, hasCode } from '@mercato/platform/errors';
import {
  type Command,
  collect,
  createProgram,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_STOP_TIMED_OUT,
  EXIT_USAGE,
  flagError,
  Option,
  onAction,
  oneOfFlag,
  portFlag,
  runProgram,
} from '@mercato/platform/flags';
import { settleWithin, waitForStopSignal } from '@mercato/platform/lifecycle';
import { createLogger, DEFAULT_LOG_LEVEL, type Logger } from '@mercato/platform/logger';
import { runMain } from '@mercato/platform/run-main';
import { ROLES, type Role } from './auth/roles.js';
import { DEFAULT_TOKEN_TTL_S, generateToken, hashToken } from './auth/tokens.js';
import { MAX_TOKEN_TTL_S, MIN_TOKEN_TTL_S } from './changes/token-commands.js';
import {
  type ControlPlaneConfig,
  DEFAULT_DB,
  DEFAULT_GRPC_PORT,
  DEFAULT_HOST,
  DEFAULT_HTTP_PORT,
  validateControlPlaneConfig,
} from './config.js';
import { type ControlPlane, createControlPlane } from './control-plane.js';
import { durationFlagS } from './duration-flag.js';
import { controlErrorOf, ERR } from './errors.js';
import { SYSTEM_ACTOR } from './store/control-store.js';
import { createControlStore, parseStoreUrl } from './store/create-control-store.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** A stop (edges closed, store closed) that takes longer than this ends the process anyway. */
export const STOP_DEADLINE_MS = 10_000;
export const LOGGER_NAME = 'atp-control-plane';

/** Config fields as the flags that set them, for error messages. */
const FLAG_OF_FIELD: Record<string, string> = {
  db: '--db',
  store: '--db',
  host: '--host',
  httpPort: '--http-port',
  grpcPort: '--grpc-port',
  trustedKeys: '--trusted-key',
  bootstrapTokens: '--bootstrap-tokens',
  regions: '--regions-file',
  signingKey: '--signing-key',
  stateDir: '--state-dir',
  tlsCert: '--tls-cert',
  tlsKey: '--tls-key',
  tlsClientCa: '--tls-client-ca',
  insecurePlaintext: '--insecure-plaintext',
  maxStreamsPerToken: '--max-streams-per-token',
  auditRetentionDays: '--audit-retention-days',
  auditMaxRows: '--audit-max-rows',
  scrape: '--scrape',
};

export interface ServeFlags {
  db?: string;
  host?: string;
  httpPort?: string;
  grpcPort?: string;
  trustedKey?: string[];
  bootstrapTokens?: string;
  regionsFile?: string;
  logLevel?: string;
  signingKey?: string;
  stateDir?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  insecurePlaintext?: boolean;
  maxStreamsPerToken?: string;
  auditRetentionDays?: string;
  auditMaxRows?: string;
  scrape?: string[];
}

export interface TokenCreateFlags {
  db?: string;
  name: string;
  role: Role;
  ttl?: string;
  sidecarId?: string;
}

export function controlPlaneProgram(): Command {
  const program = createProgram(
    'control-plane',
    'The ATP control plane: admin API (HTTP/JSON) and sidecar watch stream (gRPC); first tokens straight in the store.',
  );
  const serve = program
    .command('serve')
    .description('serve the admin API (HTTP/JSON) and the sidecar watch stream (gRPC)')
    .option(
      '--db <url>',
      `sqlite:<path> (default ${DEFAULT_DB}) or postgres://...[?schema=<name>] (env ATP_CONTROL_DB)`,
    )
    .option('--host <addr>', `address to bind (default ${DEFAULT_HOST})`)
    .option('--http-port <port>', `admin API port (default ${DEFAULT_HTTP_PORT}; 0 = any free port)`)
    .option('--grpc-port <port>', `watch stream port (default ${DEFAULT_GRPC_PORT}; 0 = any free port)`)
    .option(
      '--trusted-key <path>',
      'ed25519 public key (PEM) or folder of *.pem trusted to sign bundles; repeatable',
      collect,
    )
    .option(
      '--bootstrap-tokens <file>',
      'JSON [{"name","role","token"}] created at start when the names are free',
    )
    .option(
      '--regions-file <file>',
      'region registry JSON {"regions":[{"name","residency","redis_url","kafka_brokers","flows"}]}, applied at start when it differs from the store (default: the store\'s; a new store: eu-west, eu-central, us-east)',
    )
    .option('--log-level <level>', `${LOG_LEVELS.join(' | ')} (default ${DEFAULT_LOG_LEVEL})`)
    .option(
      '--signing-key <pem>',
      'ed25519 private key (PKCS#8 PEM) that signs snapshots; default: generated once in --state-dir',
    )
    .option('--state-dir <dir>', "where a generated signing key is kept (default: the SQLite file's folder)")
    .option('--tls-cert <pem>', 'certificate (chain) of the admin API (HTTPS) and the watch stream (TLS)')
    .option('--tls-key <pem>', 'private key of --tls-cert')
    .option(
      '--tls-client-ca <pem>',
      'CA of sidecar client certificates: the watch stream requires them (mTLS)',
    )
    .option(
      '--insecure-plaintext',
      'serve plain HTTP / gRPC on a non-loopback --host (tokens in clear); loopback binds are plaintext without TLS anyway',
    )
    .option(
      '--max-streams-per-token <n>',
      'open watch streams per token, unless the token has its own cap (default 4)',
    )
    .option('--audit-retention-days <n>', 'audit entries older than this are deleted (default 400)')
    .option('--audit-max-rows <n>', 'beyond this many audit entries the oldest are deleted (default 5000000)')
    .option(
      '--scrape <region:kind:url>',
      'a target whose /metrics feed the console overview, kind sidecar|ingest|evaluation|other (e.g. eu-west:sidecar:http://10.0.0.5:8090); repeatable',
      collect,
      [],
    );
  onAction(serve, (flags: ServeFlags) => runServe(flags));
  const token = program.command('token').description('tokens, straight in the store (first admin)');
  const create = token
    .command('create')
    .description('create a token and print it once')
    .option('--db <url>', 'the store (as for serve)')
    .requiredOption('--name <name>', 'token name (who holds it)')
    .addOption(
      new Option('--role <role>', 'viewer | operator | admin').choices([...ROLES]).makeOptionMandatory(),
    )
    .option(
      '--ttl <duration>',
      `the token expires after this long (90s, 30m, 12h, 30d, 1y; default ${DEFAULT_TOKEN_TTL_S / 86_400}d)`,
    )
    .option('--sidecar-id <id>', 'bind the token to this sidecar: it may watch only as that id');
  onAction(create, (flags: TokenCreateFlags) => runTokenCreate(flags));
  return program;
}

/**
 * Validate(raw) -> Config for `serve`: the flags (and ATP_CONTROL_DB) as a
 * checked config, or an INVALID_FLAG naming the flag to fix.
 */
export function serveConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ControlPlaneConfig {
  try {
    return validateControlPlaneConfig({
      db: flags.db ?? env.ATP_CONTROL_DB,
      host: flags.host,
      httpPort: portFlag(flags.httpPort, '--http-port', DEFAULT_HTTP_PORT),
      grpcPort: portFlag(flags.grpcPort, '--grpc-port', DEFAULT_GRPC_PORT),
      trustedKeys: flags.trustedKey ?? [],
      bootstrapTokens:
        flags.bootstrapTokens === undefined ? [] : readJsonFlag(flags.bootstrapTokens, '--bootstrap-tokens'),
      regions:
        flags.regionsFile === undefined ? undefined : readJsonFlag(flags.regionsFile, '--regions-file'),
      regionsSource: flags.regionsFile === undefined ? undefined : `--regions-file ${flags.regionsFile}`,
      signingKey: flags.signingKey,
      stateDir: flags.stateDir,
      tlsCert: flags.tlsCert,
      tlsKey: flags.tlsKey,
      tlsClientCa: flags.tlsClientCa,
      insecurePlaintext: flags.insecurePlaintext ?? false,
      maxStreamsPerToken: flags.maxStreamsPerToken,
      auditRetentionDays: flags.auditRetentionDays,
      auditMaxRows: flags.auditMaxRows,
      scrape: flags.scrape ?? [],
    });
  } catch (err) {
    throw asFlagError(err);
  }
}

/** Serves until SIGTERM / SIGINT (or `until` settles, in tests); resolves with the exit code. */
export async function runServe(flags: ServeFlags, until?: Promise<void>): Promise<number> {
  let logger: Logger;
  let cp: ControlPlane;
  try {
    const level = oneOfFlag(flags.logLevel, '--log-level', LOG_LEVELS, DEFAULT_LOG_LEVEL);
    const config = serveConfig(flags);
    logger = createLogger({ name: LOGGER_NAME, level });
    cp = createControlPlane(config, { logger });
  } catch (err) {
    throw asFlagError(err);
  }
  try {
    await cp.start();
  } catch (err) {
    // Settings checked only at start (key files, certificates) name their flag, as bad flags do.
    const e = asFlagError(err);
    logger.fatal({ code: e.code, err: e.message }, 'start failed');
    await cp.stop().catch(() => undefined);
    logger.flush();
    return hasCode(e, ERR.CONFIG_INVALID) || hasCode(e, ERR.INVALID_FLAG) ? EXIT_USAGE : EXIT_FAILED;
  }
  await waitForStopSignal(until);
  const stop = await settleWithin(cp.stop(), STOP_DEADLINE_MS);
  if (stop === 'late') logger.error({ deadlineMs: STOP_DEADLINE_MS }, 'stop did not finish in time');
  else logger.info({ event: 'stopped' }, 'stopped');
  logger.flush();
  return stop === 'late' ? EXIT_STOP_TIMED_OUT : EXIT_OK;
}

/** Creates a token straight in the store and prints it once (stdout); audited as the system. */
export async function runTokenCreate(flags: TokenCreateFlags): Promise<number> {
  let storeUrl: ReturnType<typeof parseStoreUrl>;
  let ttlS: number;
  try {
    storeUrl = parseStoreUrl(flags.db ?? process.env.ATP_CONTROL_DB ?? DEFAULT_DB);
    ttlS =
      flags.ttl === undefined
        ? DEFAULT_TOKEN_TTL_S
        : durationFlagS(flags.ttl, '--ttl', MIN_TOKEN_TTL_S, MAX_TOKEN_TTL_S);
    if (flags.sidecarId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(flags.sidecarId))
      throw flagError('--sidecar-id', 'expected letters, digits and . _ : - (not first), at most 128');
  } catch (err) {
    throw asFlagError(err);
  }
  const store = createControlStore(storeUrl);
  try {
    await store.open();
    const token = generateToken();
    const nowMs = Date.now();
    await store.write(async (tx) => {
      if ((await tx.tokens.list()).some((t) => t.name === flags.name)) {
        throw new AtpError(ERR.CONFLICT, `a token named ${flags.name} exists`, '--name');
      }
      await tx.tokens.insert({
        name: flags.name,
        tokenHash: hashToken(token),
        role: flags.role,
        createdBy: SYSTEM_ACTOR,
        createdAtMs: nowMs,
        revokedAtMs: null,
        expiresAtMs: nowMs + ttlS * 1000,
        sidecarId: flags.sidecarId ?? null,
      });
      await tx.audit.append({
        atMs: nowMs,
        actor: SYSTEM_ACTOR,
        role: null,
        action: 'token.create',
        target: flags.name,
        reason: 'created with `control-plane token create` (direct store access)',
        outcome: 'accepted',
        code: null,
        message: null,
        detail: {
          name: flags.name,
          role: flags.role,
          os_user: process.env.USER ?? null,
          expires_at_ms: nowMs + ttlS * 1000,
          sidecar_id: flags.sidecarId ?? null,
        },
        snapshotVersion: null,
      });
    });
    process.stdout.write(`${token}\n`);
    return EXIT_OK;
  } catch (err) {
    const e = controlErrorOf(err);
    process.stderr.write(`${errorLine(e)}\n`);
    // Nothing was created: a taken name or an unusable store setting is the caller's to fix.
    return hasCode(e, ERR.CONFLICT) || hasCode(e, ERR.CONFIG_INVALID) ? EXIT_USAGE : EXIT_FAILED;
  } finally {
    await store.close();
  }
}

export function main(argv: readonly string[]): Promise<number> {
  return runProgram(controlPlaneProgram(), argv);
}

/** A JSON file named by a flag; unreadable or not JSON is that flag's error. */
function readJsonFlag(path: string, flag: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw flagError(flag, `cannot read ${path} as JSON (${(err as Error).message})`);
  }
}

/**
 * A configuration error as the flag that set the field (`--db: expected
 * sqlite:<path>...`), so runProgram exits EXIT_USAGE and names what to fix.
 */
function asFlagError(err: unknown): AtpError {
  const e = controlErrorOf(err);
  if (!hasCode(e, ERR.CONFIG_INVALID) || e.field === undefined) return e;
  const root = e.field.split(/[.[]/)[0] ?? e.field;
  const flag = FLAG_OF_FIELD[root];
  if (flag === undefined) return e;
  const problem = e.message.startsWith(`${root}: `) ? e.message.slice(root.length + 2) : e.message;
  return new AtpError(ERR.INVALID_FLAG, `${flag}: ${problem}`, flag, { cause: err });
}

runMain(import.meta.url, main);
