/**
 * The ingest CLI (ingest/src/main.ts) as a process of its own, as it runs in
 * a pod. A test kills it with SIGKILL to play a crash (no last commit, no
 * group leave, nothing left behind in the test process) and reads its
 * Prometheus endpoint as a scraper would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const INGEST_CLI = new URL('../../ingest/src/main.ts', import.meta.url).pathname;
/** tsx compiles the CLI on start, and the first group join waits about 3 s on the mock cluster. */
export const INGEST_CLI_START_TIMEOUT_MS = 30_000;

export interface IngestProcess {
  proc: ChildProcess;
  /** Port of its metrics/health server (bound on 127.0.0.1, the default). */
  metricsPort: number;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGKILL (a crash) and wait for the exit; nothing if it already exited. */
  kill(): Promise<void>;
}

export interface IngestCliArgs {
  brokers: readonly string[];
  redisUrl: string;
  region: string;
  /** More flags, e.g. ['--client-id', 'x', '--commit-interval-ms', '60000']. */
  extra?: readonly string[];
}

/** Starts the CLI and resolves once it logged "ingest started" (with its metrics port). */
export async function spawnIngestCli(args: IngestCliArgs): Promise<IngestProcess> {
  // Each test has a region of its own: the CLI validates --region against a registry that knows it.
  const regionsFile = join(mkdtempSync(join(tmpdir(), 'atp-ingest-regions-')), 'regions.json');
  writeFileSync(regionsFile, JSON.stringify({ regions: [{ name: args.region, residency: 'open' }] }));
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      INGEST_CLI,
      '--brokers',
      args.brokers.join(','),
      '--redis',
      args.redisUrl,
      '--region',
      args.region,
      '--regions-file',
      regionsFile,
      '--session-timeout-ms',
      '6000',
      '--heartbeat-interval-ms',
      '500',
      '--metrics-port',
      '0',
      '--log-level',
      'info',
      ...(args.extra ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGKILL');
    await exited;
  };
  const stdout = proc.stdout;
  if (stdout === null) throw new Error('ingest CLI spawned without a stdout pipe');
  let timer: NodeJS.Timeout | undefined;
  try {
    const metricsPort = await new Promise<number>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`ingest CLI did not start within ${INGEST_CLI_START_TIMEOUT_MS} ms`)),
        INGEST_CLI_START_TIMEOUT_MS,
      );
      // The log keeps being read (and dropped) after the start line, so the pipe never fills.
      createInterface({ input: stdout }).on('line', (line) => {
        const rec = parseLogLine(line);
        if (rec?.msg === 'ingest started' && typeof rec.metricsPort === 'number') resolve(rec.metricsPort);
      });
      void exited.then((code) => reject(new Error(`ingest CLI exited (${code}) before it started`)));
    });
    return { proc, metricsPort, exited, kill };
  } catch (err) {
    await kill();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function parseLogLine(line: string): { msg?: unknown; metricsPort?: unknown } | null {
  try {
    return JSON.parse(line) as { msg?: unknown; metricsPort?: unknown };
  } catch {
    return null;
  }
}

/** Sum of the samples of `name` whose labels include `labels`, scraped from /metrics. */
export async function scrapeMetric(
  port: number,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (want.every((w) => line.includes(w))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
