/**
 * Starts a container of a rendered manifest as a local process: its command
 * (mapped to this repository, see checks.ts localEntry) with its own args,
 * env references resolved, and only what cannot exist here substituted —
 * network addresses (loopback, port 0), the mounted files (a temp folder per
 * volume mount, filled by the caller) and Secret values. Then it can ask the
 * process the container's probes, as the kubelet would.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Container, containerPort, localEntry, resolvedArgs } from './checks.js';
import { type Doc, REPO_ROOT } from './render.js';

export const START_TIMEOUT_MS = 45_000;
/** How long a probe may answer "not yet" (503 / refused) before it counts as failing. */
export const PROBE_SETTLE_MS = 20_000;

export interface ManifestProcess {
  proc: ChildProcess;
  /** The start log line (JSON). */
  started: Record<string, any>;
  /** manifest containerPort -> the port the process really bound. */
  ports: Map<number, number>;
  stop(): Promise<void>;
}

export interface PrepareOptions {
  /** Flag values replaced (addresses, ports, a Secret-backed value); the flag must be in the manifest. */
  flags?: Record<string, string>;
  /** Env values replaced (e.g. a Secret's). */
  env?: Record<string, string>;
  /** Temp folder under which each volume mount path is recreated. */
  mountsRoot: string;
  /** Files the mounted Secrets and ConfigMaps would hold, by their path in the container. */
  files?: Record<string, string>;
}

export interface StartOptions extends PrepareOptions {
  /** Is this log line the "started" one? */
  isStarted: (rec: Record<string, any>) => boolean;
  /** manifest containerPort -> field of the start line holding the bound port. */
  portFields: Record<number, string>;
}

/** The local path of a file the manifest reads from a volume mount. */
export function mountedPath(mountsRoot: string, path: string): string {
  return join(mountsRoot, path);
}

/** The local command line of a container (args resolved, substitutions applied, mounted files written). */
function prepare(k: Container, docs: Doc[], opts: PrepareOptions): { bin: string; argv: string[] } {
  const problems: string[] = [];
  const args = resolvedArgs(k, docs, problems);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const mounts = ((k.c.volumeMounts ?? []) as Doc[]).map((m) => m.mountPath as string);
  for (const m of mounts) mkdirSync(mountedPath(opts.mountsRoot, m), { recursive: true });
  for (const [path, content] of Object.entries(opts.files ?? {})) {
    if (!mounts.some((m) => path.startsWith(`${m}/`))) throw new Error(`${k.where}: nothing mounts ${path}`);
    writeFileSync(mountedPath(opts.mountsRoot, path), content);
  }
  for (const [flag, value] of Object.entries(opts.flags ?? {})) {
    const i = args.indexOf(flag);
    if (i < 0) throw new Error(`${k.where}: ${flag} is not in the manifest`);
    args[i + 1] = value;
  }
  const local = args.map((a) =>
    mounts.some((m) => a === m || a.startsWith(`${m}/`)) ? mountedPath(opts.mountsRoot, a) : a,
  );
  const [bin, ...rest] = localEntry(k.c.command as string[], k.c.workingDir);
  return { bin: bin ?? '', argv: [...rest, ...local] };
}

/** Runs a Job's container to its end (a CronJob's run); resolves with its exit status and output. */
export function runManifestJob(
  k: Container,
  docs: Doc[],
  opts: PrepareOptions,
): { status: number | null; stdout: string; stderr: string } {
  const { bin, argv } = prepare(k, docs, opts);
  const r = spawnSync(bin, argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...(opts.env ?? {}) },
    encoding: 'utf8',
    timeout: START_TIMEOUT_MS,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export async function startManifestContainer(
  k: Container,
  docs: Doc[],
  opts: StartOptions,
): Promise<ManifestProcess> {
  const { bin, argv } = prepare(k, docs, opts);
  const proc = spawn(bin, argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stderr?.on('data', (c: Buffer) => {
    if (output.length < 20_000) output += c.toString();
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    proc.kill('SIGTERM');
    await exited;
    clearTimeout(timer);
  };
  try {
    const started = await new Promise<Record<string, any>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${k.where} did not start in ${START_TIMEOUT_MS} ms: ${output}`)),
        START_TIMEOUT_MS,
      );
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${k.where} exited (${proc.exitCode}) before it started: ${output}`));
      });
      // The log keeps being drained after the start line, so the pipe never fills.
      createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        if (output.length < 20_000) output += `${line}\n`;
        let rec: Record<string, any>;
        try {
          rec = JSON.parse(line) as Record<string, any>;
        } catch {
          return;
        }
        if (opts.isStarted(rec)) {
          clearTimeout(timer);
          resolve(rec);
        }
      });
    });
    const ports = new Map<number, number>();
    for (const [port, field] of Object.entries(opts.portFields)) ports.set(Number(port), started[field]);
    return { proc, started, ports, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Asks every httpGet probe of the container on the running process; a probe
 * must answer 200 within PROBE_SETTLE_MS (a 404 or another 4xx fails at once).
 */
export async function probeProblems(k: Container, p: ManifestProcess): Promise<string[]> {
  const problems: string[] = [];
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    const get = k.c[probe]?.httpGet;
    if (get === undefined) continue;
    const declared = containerPort(k.c, get.port);
    const port = declared === null ? undefined : p.ports.get(declared);
    if (port === undefined) {
      problems.push(`${k.where}: ${probe} port ${get.port} is not bound by the process`);
      continue;
    }
    const deadline = Date.now() + PROBE_SETTLE_MS;
    let last = 'no answer';
    for (;;) {
      const status = await fetch(`http://127.0.0.1:${port}${get.path}`).then(
        (r) => r.status,
        (err: Error) => err.message,
      );
      if (status === 200) break;
      last = String(status);
      const final = typeof status === 'number' && status >= 400 && status < 500;
      if (final || Date.now() > deadline) {
        problems.push(`${k.where}: ${probe} GET ${get.path} answered ${last}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return problems;
}
