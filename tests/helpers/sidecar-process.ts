/**
 * Runs `sidecar/src/main.ts serve` as a real child process (node --import
 * tsx) and waits for its `listening` log line to learn the ports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './fixtures.js';

export const SIDECAR_START_TIMEOUT_MS = 30_000;

export interface SidecarProcess {
  httpPort: number;
  grpcPort: number;
  proc: ChildProcess;
  /** SIGTERM, then SIGKILL after a grace period. */
  stop(): Promise<void>;
}

export async function startSidecarProcess(args: string[]): Promise<SidecarProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'sidecar/src/main.ts', 'serve', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => {
    if (stderr.length < 10_000) stderr += c.toString();
  });
  const early: string[] = [];
  const ports = await new Promise<{ httpPort: number; grpcPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A sidecar that never listened must not outlive the test that waited for it.
      proc.kill('SIGKILL');
      reject(
        new Error(
          `sidecar did not listen within ${SIDECAR_START_TIMEOUT_MS} ms: ${stderr} ${early.join('\n')}`,
        ),
      );
    }, SIDECAR_START_TIMEOUT_MS);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited (${code}) before listening: ${stderr} ${early.join('\n')}`));
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const j = JSON.parse(line) as { event?: string; httpPort?: number; grpcPort?: number };
        if (early.length < 20) early.push(line);
        if (j.event === 'listening') {
          clearTimeout(timer);
          proc.removeAllListeners('exit');
          resolve({ httpPort: j.httpPort!, grpcPort: j.grpcPort! });
        }
      } catch {
        // not a log line
      }
    });
  });
  return {
    ...ports,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        proc.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

/**
 * Starts several sidecars at once; if any fails to start, the ones that did are
 * stopped before the error is thrown, so a failed start never leaves processes
 * behind (a test file would otherwise hang until tap's timeout).
 */
export async function startSidecarProcesses(argsList: readonly string[][]): Promise<SidecarProcess[]> {
  const settled = await Promise.allSettled(argsList.map((args) => startSidecarProcess(args)));
  const started = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(started.map((s) => s.stop()));
    throw failed.reason;
  }
  return started;
}
