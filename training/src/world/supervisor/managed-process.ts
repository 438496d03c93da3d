/**
 * One product process of a world (sidecar, ingester, control plane, data
 * plane, batch job, Redis, the Kafka mock): spawned with its real command
 * line, its output kept in a log file of the run directory, a readiness
 * wait, and a bounded stop (SIGTERM, then SIGKILL after a grace). Faults are
 * injected the way an operator's bad day would: SIGKILL (crash), SIGSTOP /
 * SIGCONT (a frozen process), restart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export const DEFAULT_READY_TIMEOUT_MS = 180_000;
export const DEFAULT_STOP_GRACE_MS = 10_000;
/** Output lines kept in memory for readiness matching and error messages. */
const TAIL_LINES = 200;

export interface ProcessSpec {
  /** Short name for logs and errors (`sidecar-1`). */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Where stdout and stderr go (appended). */
  logPath: string;
}

export class ManagedProcess {
  private proc: ChildProcess | null = null;
  private log: WriteStream | null = null;
  private readonly tail: string[] = [];
  private waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  private exited: Promise<number | null> = Promise.resolve(null);
  restarts = 0;

  constructor(readonly spec: ProcessSpec) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Spawns the process; resolves once spawned (use waitForLine / waitForHttp for readiness). */
  start(): void {
    if (this.running) return;
    this.log ??= createWriteStream(this.spec.logPath, { flags: 'a' });
    // Readiness is judged on this incarnation's output only.
    this.tail.length = 0;
    const proc = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    const onData = (chunk: Buffer) => {
      this.log?.write(chunk);
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        this.tail.push(line);
        if (this.tail.length > TAIL_LINES) this.tail.shift();
        this.waiters = this.waiters.filter((w) => {
          const m = w.re.exec(line);
          if (m !== null) w.resolve(m);
          return m === null;
        });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.log?.write(`\n[world] ${this.spec.name} exited code=${code} signal=${signal}\n`);
        resolve(code);
      });
      proc.once('error', (err) => {
        this.log?.write(`\n[world] ${this.spec.name} failed to spawn: ${err.message}\n`);
        resolve(null);
      });
    });
  }

  /** Resolves with the first output line matching `re` (seen from now on, or already in the tail). */
  async waitForLine(re: RegExp, timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<RegExpExecArray> {
    for (const line of this.tail) {
      const m = re.exec(line);
      if (m !== null) return m;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        new Promise<RegExpExecArray>((resolve) => this.waiters.push({ re, resolve })),
        this.exited.then((code) => {
          throw new Error(`${this.spec.name} exited (${code}) before printing ${re}: ${this.lastLines(8)}`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(new Error(`${this.spec.name}: no ${re} within ${timeoutMs} ms: ${this.lastLines(8)}`)),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Polls `url` until it answers 2xx. */
  async waitForHttp(url: string, timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running)
        throw new Error(`${this.spec.name} exited before ${url} answered: ${this.lastLines(8)}`);
      const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) })
        .then(async (r) => {
          await r.arrayBuffer();
          return r.ok;
        })
        .catch(() => false);
      if (ok) return;
      if (Date.now() > deadline)
        throw new Error(`${this.spec.name}: ${url} not ready within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  lastLines(n: number): string {
    return this.tail.slice(-n).join(' | ');
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.proc?.kill(sig);
  }

  /** A crash: SIGKILL, and wait for the exit. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.proc?.kill('SIGKILL');
    await this.exited;
  }

  /** Waits for a one-shot command to end on its own; SIGKILL after `timeoutMs`. Resolves with its exit code. */
  async exitWithin(timeoutMs: number): Promise<number | null> {
    const proc = this.proc;
    const timer = setTimeout(() => proc?.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    await this.closeLog();
    return code;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  async stop(graceMs = DEFAULT_STOP_GRACE_MS): Promise<number | null> {
    if (!this.running) {
      const code = await this.exited;
      await this.closeLog();
      return code;
    }
    const proc = this.proc;
    proc?.kill('SIGCONT');
    proc?.kill('SIGTERM');
    const timer = setTimeout(() => proc?.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    await this.closeLog();
    return code;
  }

  async restart(): Promise<void> {
    await this.stop();
    this.restarts++;
    this.start();
  }

  /** Ends the log file; resolves once everything written is on disk. */
  private closeLog(): Promise<void> {
    const log = this.log;
    this.log = null;
    if (log === null) return Promise.resolve();
    return new Promise((resolve) => log.end(() => resolve()));
  }
}
