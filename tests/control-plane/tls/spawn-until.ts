/**
 * Runs a repository entry (`node --import tsx <entry> ...`) as a child
 * process and resolves `started` at the first pino line `match` accepts
 * (rejects when it exits first or stays silent past START_TIMEOUT_MS).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../../helpers/fixtures.js';

/** Generous: a tsx entry compiles on start, and this 2-core box is often shared by several suites. */
export const START_TIMEOUT_MS = 45_000;

export interface Spawned {
  proc: ChildProcess;
  started: Promise<void>;
  kill(): void;
}

export function spawnUntil(args: string[], match: (rec: Record<string, unknown>) => boolean): Spawned {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stderr?.resume();
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no start line within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before starting`));
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        if (match(JSON.parse(line) as Record<string, unknown>)) {
          clearTimeout(timer);
          proc.removeAllListeners('exit');
          resolve();
        }
      } catch {
        // not a log line
      }
    });
  });
  started.catch(() => undefined);
  return {
    proc,
    started,
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}
