/**
 * Runs the data plane as a real process — the installed command's file,
 * wasm-filter/bin/atp-data-plane.js — and the sidecar stand-in as another,
 * for tests that check the process edge: flags, readiness, the listening
 * line, signals and exit codes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Test } from 'tap';
import { REPO_ROOT } from '../../helpers/fixtures.js';

export const DATA_PLANE_BIN = 'wasm-filter/bin/atp-data-plane.js';
/** Node + tsx start-up, the build's freshness check and the VM on a loaded 2-core box. */
export const START_TIMEOUT_MS = 60_000;
const KILL_AFTER_MS = 15_000;

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface DataPlaneProcess {
  port: number;
  proc: ChildProcess;
  /** Parsed JSON log lines so far. */
  lines: Array<Record<string, unknown>>;
  /** Sends `signal` and resolves when the process exited (SIGKILL after KILL_AFTER_MS). */
  stop(signal?: NodeJS.Signals): Promise<Exited & { elapsedMs: number }>;
}

function spawnBin(args: string[]): ChildProcess {
  return spawn(process.execPath, [DATA_PLANE_BIN, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the data plane with `args` until it exits on its own (bad flags, failed start). */
export function runDataPlaneToExit(args: string[]): Promise<Exited> {
  const proc = spawnBin(args);
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  proc.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), START_TIMEOUT_MS);
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Starts the data plane with `args` (plus --port 0) and waits for its listening line. */
export async function startDataPlaneProcess(t: Test, args: string[]): Promise<DataPlaneProcess> {
  const proc = spawnBin(['--port', '0', ...args]);
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  const lines: Array<Record<string, unknown>> = [];
  let stdout = '';
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('close', (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line within ${START_TIMEOUT_MS} ms: ${stdout} ${stderr}`)),
      START_TIMEOUT_MS,
    );
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the data plane exited (${code}) before listening: ${stdout} ${stderr}`));
    });
    createInterface({ input: proc.stdout ?? process.stdin }).on('line', (line) => {
      stdout += `${line}\n`;
      let j: Record<string, unknown>;
      try {
        j = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      lines.push(j);
      if (j.event === 'listening' && typeof j.port === 'number') {
        clearTimeout(timer);
        resolve(j.port);
      }
    });
  });
  return {
    port,
    proc,
    lines,
    stop: async (signal = 'SIGTERM') => {
      const started = performance.now();
      const timer = setTimeout(() => proc.kill('SIGKILL'), KILL_AFTER_MS);
      proc.kill(signal);
      const { code, signal: by } = await exited;
      clearTimeout(timer);
      return { code, signal: by, stdout, stderr, elapsedMs: performance.now() - started };
    },
  };
}

export interface SidecarStandIn {
  port: number;
  proc: ChildProcess;
}

/** The sidecar stand-in (helpers/sidecar-stand-in.ts) as its own process. */
export async function startSidecarStandIn(t: Test): Promise<SidecarStandIn> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'tests/wasm-filter/helpers/sidecar-stand-in.ts'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the sidecar stand-in did not start')), START_TIMEOUT_MS);
    createInterface({ input: proc.stdout ?? process.stdin }).on('line', (line) => {
      const listening = /^listening (\d+)$/.exec(line);
      if (listening === null) return;
      clearTimeout(timer);
      resolve(Number(listening[1]));
    });
  });
  return { port, proc };
}
