/**
 * Starts a private PostgreSQL server on a free port for one test file, so
 * the store tests never depend on a server that happens to run on the
 * machine (or on its port 5432). A throwaway cluster: initdb into a temp
 * folder, trust authentication on 127.0.0.1, the socket in the same folder,
 * fsync off (nothing here needs to survive a power cut), and stop() cuts
 * it down (`-m immediate`) and deletes the folder.
 *
 * initdb refuses to run as root, so under root the cluster belongs to the
 * `postgres` user and every pg command runs through `runuser`. Needs the
 * Debian `postgresql` package (its binaries in /usr/lib/postgresql/<v>/bin);
 * ATP_TEST_PG_BIN points elsewhere.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './redis-server.js';

const run = promisify(execFile);

export const PG_START_TIMEOUT_S = 30;
export const PG_LIB_DIR = '/usr/lib/postgresql';
/** The user a root-owned test run hands the cluster to (initdb will not run as root). */
export const PG_OS_USER = 'postgres';
export const PG_SUPERUSER = 'postgres';

export interface PostgresServerHandle {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication). */
  url: string;
  /** Stops the server at once and deletes its folder; idempotent. */
  stop(): Promise<void>;
}

/** The folder holding initdb and pg_ctl (the newest installed version), or null. */
export function postgresBinDir(): string | null {
  const override = process.env.ATP_TEST_PG_BIN;
  if (override !== undefined && override !== '')
    return existsSync(join(override, 'initdb')) ? override : null;
  if (!existsSync(PG_LIB_DIR)) return null;
  const versions = readdirSync(PG_LIB_DIR)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(PG_LIB_DIR, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  const newest = versions[0];
  return newest === undefined ? null : join(PG_LIB_DIR, newest, 'bin');
}

export async function startPostgresServer(): Promise<PostgresServerHandle> {
  const bin = postgresBinDir();
  if (bin === null) {
    throw new Error(
      `PostgreSQL server binaries not found under ${PG_LIB_DIR}/<version>/bin: the store tests need them (apt-get install -y postgresql, or set ATP_TEST_PG_BIN)`,
    );
  }
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? osUser(PG_OS_USER) : null;
  // A pg command as the cluster's owner: through runuser under root, directly otherwise.
  const command = (tool: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', PG_OS_USER, '--', join(bin, tool), ...args]] : [join(bin, tool), args];

  const root = mkdtempSync(join(tmpdir(), 'atp-pg-'));
  const data = join(root, 'data');
  const log = join(root, 'server.log');
  mkdirSync(data, { mode: 0o700 });
  if (owner !== null) {
    chownSync(root, owner.uid, owner.gid);
    chownSync(data, owner.uid, owner.gid);
  }
  const port = await freePort();
  const stopArgs = ['-D', data, '-m', 'immediate', '-w', 'stop'];
  let stopped = false;
  // Synchronous: it also runs from an 'exit' handler, where nothing asynchronous completes.
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    spawnSync(...command('pg_ctl', stopArgs), { stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await run(
      ...command('initdb', [
        '-D',
        data,
        '-A',
        'trust',
        '-U',
        PG_SUPERUSER,
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
      ]),
    );
    // -l: the postmaster's output goes to a file, so pg_ctl returns instead of holding our pipes open.
    await run(
      ...command('pg_ctl', [
        '-D',
        data,
        '-l',
        log,
        '-o',
        `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`,
        '-w',
        '-t',
        String(PG_START_TIMEOUT_S),
        'start',
      ]),
    );
  } catch (err) {
    const serverLog = existsSync(log) ? readFileSync(log, 'utf8').slice(-2_000) : '';
    stopSync();
    throw new Error(`PostgreSQL did not start on port ${port}: ${(err as Error).message}\n${serverLog}`);
  }
  // A test process that ends without its teardown must not leave a server behind.
  process.once('exit', stopSync);
  return {
    port,
    url: `postgres://${PG_SUPERUSER}@127.0.0.1:${port}/postgres`,
    async stop() {
      process.off('exit', stopSync);
      if (stopped) return;
      stopped = true;
      await run(...command('pg_ctl', stopArgs)).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function osUser(name: string): { uid: number; gid: number } {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error(`no "${name}" user: install the postgresql package (it creates it)`);
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
