/**
 * Starts a private redis-server on a free port for one test file, so tests
 * can kill and restart it for failure injection without touching the
 * machine's own instance on 6379.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const REDIS_START_TIMEOUT_MS = 10_000;

export interface RedisServerHandle {
  port: number;
  url: string;
  /** SIGKILLs the server (a crash, not a shutdown). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: --save "" keeps nothing; with `persist`, its AOF is reloaded). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisServerOptions {
  /** Keep data across kill/restart: an append-only file, fsynced on every write, in a temp dir. */
  persist?: boolean;
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServerHandle> {
  if (!redisServerAvailable()) {
    throw new Error(
      'redis-server is not installed: the integration tests need it (apt-get install -y redis-server)',
    );
  }
  const port = await freePort();
  let proc: ChildProcess | null = null;
  const persistence = opts.persist
    ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', mkdtempSync(join(tmpdir(), 'atp-redis-'))]
    : ['--appendonly', 'no'];
  const launch = async () => {
    proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--daemonize', 'no'],
      { stdio: 'ignore' },
    );
    await waitForPing(port);
  };
  const kill = async () => {
    const p = proc;
    proc = null;
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };
  await launch();
  return { port, url: `redis://127.0.0.1:${port}`, kill, restart: launch, stop: kill };
}

async function waitForPing(port: number): Promise<void> {
  const { Redis } = await import('ioredis');
  const deadline = Date.now() + REDIS_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const c = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    c.on('error', () => undefined);
    try {
      await c.connect();
      if ((await c.ping()) === 'PONG') {
        c.disconnect();
        return;
      }
    } catch {
      // not up yet
    }
    c.disconnect();
    await sleep(50);
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${REDIS_START_TIMEOUT_MS} ms`);
}
