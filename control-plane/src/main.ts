/**
 * The control plane's process entry.
 *
 *   node --import tsx control-plane/src/main.ts serve \
 *     [--db sqlite:control-plane.db | postgres://user@host/db?schema=atp] \
 *     [--host 127.0.0.1] [--http-port 7070] [--grpc-port 7071] \
 *     [--trusted-key <public.pem|dir>]... [--bootstrap-tokens <file.json>] [--log-level info]
 *
 *   node --import tsx control-plane/src/main.ts token create --db ... --name alice --role admin
 *
 * `token create` writes straight to the store (whoever can write the
 * database is already trusted): it is how the first admin token is made.
 * Logs are pino JSON on stdout; once both ports listen it logs
 * `{"event":"listening","httpPort":..,"grpcPort":..}`. SIGTERM/SIGINT stop
 * it cleanly. Exit codes: 0 ok, 1 start failed, 2 bad flags.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { waitForStopSignal } from '@mercato/platform/lifecycle';
import { Command, CommanderError, Option } from 'commander';
import { pino } from 'pino';
import { ROLES, type Role } from './auth/roles.js';
import { generateToken, hashToken } from './auth/tokens.js';
import { validateControlPlaneConfig } from './config.js';
import { createControlPlane } from './control-plane.js';
import { ControlError, ERR } from './errors.js';
import { SYSTEM_ACTOR } from './store/control-store.js';
import { createControlStore, parseStoreUrl } from './store/create-control-store.js';

export const EXIT_OK = 0;
export const EXIT_START_FAILED = 1;
export const EXIT_USAGE = 2;

/** Config fields as the serve flags that set them, for error messages. */
const FLAG_OF_FIELD: Record<string, string> = {
  db: '--db',
  store: '--db',
  host: '--host',
  httpPort: '--http-port',
  grpcPort: '--grpc-port',
  trustedKeys: '--trusted-key',
  bootstrapTokens: '--bootstrap-tokens',
};

interface ServeFlags {
  db?: string;
  host?: string;
  httpPort?: string;
  grpcPort?: string;
  trustedKey?: string[];
  bootstrapTokens?: string;
  logLevel?: string;
}

export async function runServe(flags: ServeFlags, until?: Promise<void>): Promise<number> {
  const logger = pino({
    name: 'atp-control-plane',
    level: flags.logLevel ?? 'info',
    base: { pid: process.pid },
  });
  let cp: ReturnType<typeof createControlPlane>;
  try {
    const bootstrapTokens =
      flags.bootstrapTokens === undefined ? [] : JSON.parse(readFileSync(flags.bootstrapTokens, 'utf8'));
    const config = validateControlPlaneConfig({
      db: flags.db ?? process.env.ATP_CONTROL_DB,
      host: flags.host,
      httpPort: flags.httpPort,
      grpcPort: flags.grpcPort,
      trustedKeys: flags.trustedKey ?? [],
      bootstrapTokens,
    });
    cp = createControlPlane(config, { logger });
  } catch (err) {
    const e =
      err instanceof ControlError ? err : new ControlError(ERR.CONFIG_INVALID, (err as Error).message);
    const flag = e.field === undefined ? undefined : (FLAG_OF_FIELD[e.field.split(/[.[]/)[0]!] ?? e.field);
    process.stderr.write(
      `${e.code} ${e.message}${flag === undefined ? '' : ` (flag ${flag})`}\n  what to do: ${e.spec.hint}\n`,
    );
    return EXIT_USAGE;
  }
  try {
    await cp.start();
  } catch (err) {
    const e = err instanceof ControlError ? err : new ControlError(ERR.INTERNAL, (err as Error).message);
    logger.fatal({ code: e.code, err: e.message }, 'start failed');
    await cp.stop().catch(() => undefined);
    logger.flush();
    return e.code === ERR.CONFIG_INVALID.code ? EXIT_USAGE : EXIT_START_FAILED;
  }
  await waitForStopSignal(until);
  await cp.stop();
  logger.info({ event: 'stopped' }, 'stopped');
  logger.flush();
  return EXIT_OK;
}

export async function runTokenCreate(opts: { db?: string; name: string; role: Role }): Promise<number> {
  const store = createControlStore(
    parseStoreUrl(opts.db ?? process.env.ATP_CONTROL_DB ?? 'sqlite:control-plane.db'),
  );
  try {
    await store.open();
    const token = generateToken();
    const nowMs = Date.now();
    await store.write(async (tx) => {
      if ((await tx.tokens()).some((t) => t.name === opts.name)) {
        throw new ControlError(ERR.CONFLICT, `a token named ${opts.name} exists`, 'name');
      }
      await tx.insertToken({
        name: opts.name,
        tokenHash: hashToken(token),
        role: opts.role,
        createdBy: SYSTEM_ACTOR,
        createdAtMs: nowMs,
        revokedAtMs: null,
      });
      await tx.appendAudit({
        atMs: nowMs,
        actor: SYSTEM_ACTOR,
        role: null,
        action: 'token.create',
        target: opts.name,
        reason: 'created with `control-plane token create` (direct store access)',
        outcome: 'accepted',
        code: null,
        message: null,
        detail: { name: opts.name, role: opts.role, os_user: process.env.USER ?? null },
        snapshotVersion: null,
      });
    });
    process.stdout.write(`${token}\n`);
    return EXIT_OK;
  } catch (err) {
    const e = err instanceof ControlError ? err : new ControlError(ERR.INTERNAL, (err as Error).message);
    process.stderr.write(`${e.code} ${e.message}\n  what to do: ${e.spec.hint}\n`);
    return e.code === ERR.CONFLICT.code || e.code === ERR.CONFIG_INVALID.code
      ? EXIT_USAGE
      : EXIT_START_FAILED;
  } finally {
    await store.close();
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let code = EXIT_OK;
  const program = new Command('control-plane').exitOverride().showHelpAfterError();
  const collect = (v: string, prev: string[] = []) => [...prev, v];
  program
    .command('serve')
    .description('serve the admin API (HTTP/JSON) and the sidecar watch stream (gRPC)')
    .option(
      '--db <url>',
      'sqlite:<path> (default sqlite:control-plane.db) or postgres://...[?schema=<name>] (env ATP_CONTROL_DB)',
    )
    .option('--host <addr>', 'address to bind (default 127.0.0.1)')
    .option('--http-port <port>', 'admin API port (default 7070; 0 = any free port)')
    .option('--grpc-port <port>', 'watch stream port (default 7071; 0 = any free port)')
    .option(
      '--trusted-key <path>',
      'ed25519 public key (PEM) or folder of *.pem trusted to sign bundles; repeatable',
      collect,
    )
    .option(
      '--bootstrap-tokens <file>',
      'JSON [{"name","role","token"}] created at start when the names are free',
    )
    .option('--log-level <level>', 'pino log level (default info)')
    .action(async (opts: ServeFlags) => {
      code = await runServe(opts);
    });
  const token = program.command('token').description('tokens, straight in the store (first admin)');
  token
    .command('create')
    .description('create a token and print it once')
    .option('--db <url>', 'the store (as for serve)')
    .requiredOption('--name <name>', 'token name (who holds it)')
    .addOption(
      new Option('--role <role>', 'viewer | operator | admin').choices([...ROLES]).makeOptionMandatory(),
    )
    .action(async (opts: { db?: string; name: string; role: Role }) => {
      code = await runTokenCreate(opts);
    });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (err instanceof ControlError) {
      process.stderr.write(`${err.code} ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  return code;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`ATP_ERR_INTERNAL ${err.stack ?? err.message}\n`);
      process.exitCode = EXIT_START_FAILED;
    },
  );
}
