/**
 * A private redis-server for a world (the regional feature store): a free
 * port, nothing persisted (`--save ""`, no AOF), so a restart comes back
 * empty: exactly the "Redis lost its state" fault of DESIGN §6.
 */
import { spawnSync } from 'node:child_process';
import { freePort } from './free-port.js';
import { ManagedProcess } from './managed-process.js';

export interface RedisProcess {
  url: string;
  port: number;
  process: ManagedProcess;
  /** Kill (a crash) and start again empty on the same port; resolves once it answers. */
  restartEmpty(): Promise<void>;
}

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

export async function startRedis(logPath: string): Promise<RedisProcess> {
  if (!redisServerAvailable())
    throw new Error('redis-server is not installed: apt-get install -y redis-server');
  const port = await freePort();
  const proc = new ManagedProcess({
    name: 'redis',
    command: 'redis-server',
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    logPath,
  });
  const ready = () => proc.waitForLine(/Ready to accept connections/, 15_000);
  proc.start();
  await ready();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: proc,
    async restartEmpty() {
      await proc.kill();
      proc.start();
      await ready();
    },
  };
}
