/**
 * What the ingest benches share: progress on stderr, medians and
 * percentiles, the `ingest` CLI in its own process with its metrics
 * scraped, and pre-producing events into a topic.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { KafkaEventProducer, KeyedRecord } from '../../adapters/src/kafka/kafka-event-producer.js';
import { encodeEvent, eventKey, type InventoryEvent } from '../../proto/v1/inventory-event.js';

const INGEST_CLI = fileURLToPath(new URL('../../ingest/src/main.ts', import.meta.url));
const BAR_REDRAW_MS = 250;
/** Produce requests in flight while pre-producing. */
const PRODUCE_IN_FLIGHT = 8;
const PRODUCE_CHUNK = 1_000;
/**
 * How often the benches scrape the ingester's /metrics. Every scrape costs
 * the ingester an exposition (and process CPU/memory readings): at 20 ms it
 * took about a tenth of the ingester's CPU on a busy 2-core machine, which
 * the throughput figure then charged to the ingester. Start and end of a
 * timed window are both detected one scrape late on average, so the error
 * cancels to first order.
 */
export const METRICS_SCRAPE_MS = 100;

export function sayer(tag: string): (msg: string) => void {
  return (msg) => process.stderr.write(`[${tag}] ${msg}\n`);
}

/** A progress bar on stderr, redrawn at most every BAR_REDRAW_MS (always at 100%). */
export function progressBar(tag: string): (label: string, done: number, total: number) => void {
  let lastMs = 0;
  return (label, done, total) => {
    const now = performance.now();
    if (done < total && now - lastMs < BAR_REDRAW_MS) return;
    lastMs = now;
    const share = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(share * 30);
    process.stderr.write(
      `\r[${tag}] ${label.padEnd(28)} [${'#'.repeat(filled)}${'-'.repeat(30 - filled)}] ${(share * 100).toFixed(0).padStart(3)}%`,
    );
    if (done >= total) process.stderr.write('\n');
  };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  );
}

export interface CliIngester {
  proc: ChildProcess;
  port: number;
  exited: Promise<void>;
}

/**
 * Starts the ingest CLI (one Node thread, as in a pod) and resolves once it
 * logged "ingest started". `BENCH_INGEST_NODE_ARGS` (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof") are passed to its node; `extra` to the CLI.
 */
export async function spawnIngester(
  brokers: readonly string[],
  redisUrl: string,
  region: string,
  extra: readonly string[] = [],
): Promise<CliIngester> {
  const nodeArgs = process.env.BENCH_INGEST_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? [];
  // Each run has a region of its own: the CLI validates --region against a registry that knows it.
  const regionsFile = join(mkdtempSync(join(tmpdir(), 'atp-bench-regions-')), 'regions.json');
  writeFileSync(regionsFile, JSON.stringify({ regions: [{ name: region, residency: 'open' }] }));
  const proc = spawn(
    process.execPath,
    [
      ...nodeArgs,
      '--import',
      'tsx',
      INGEST_CLI,
      '--brokers',
      brokers.join(','),
      '--redis',
      redisUrl,
      '--region',
      region,
      '--regions-file',
      regionsFile,
      '--metrics-port',
      '0',
      '--metrics-host',
      '127.0.0.1',
      '--log-level',
      'info',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stdout = proc.stdout;
  if (stdout === null) throw new Error('the ingest CLI has no stdout');
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: stdout }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { msg?: string; metricsPort?: number };
        if (rec.msg === 'ingest started' && rec.metricsPort !== undefined) resolve(rec.metricsPort);
      } catch {
        // not a log line
      }
    });
    void exited.then(() => reject(new Error('the ingest CLI exited before it started')));
  });
  return { proc, port, exited };
}

export async function stopIngester(ing: CliIngester): Promise<void> {
  ing.proc.kill('SIGTERM');
  await ing.exited;
}

/** The ingester's /metrics as `name{labels}` -> value. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of every series of `name` (all label sets). */
export function sumOf(m: Map<string, number>, name: string): number {
  let s = 0;
  for (const [k, v] of m) if (k === name || k.startsWith(`${name}{`)) s += v;
  return s;
}

/** Upper bound of the bucket holding the 99th percentile of a scraped histogram. */
export function histogramP99(m: Map<string, number>, name: string, source: string): number | null {
  const buckets: [number, number][] = [];
  for (const [k, v] of m) {
    const match = new RegExp(`^${name}_bucket\\{le="([^"]+)",source="${source}"\\}$`).exec(k);
    if (match !== null) buckets.push([match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]), v]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  const total = buckets[buckets.length - 1]?.[1] ?? 0;
  if (total === 0) return null;
  for (const [le, count] of buckets) if (count >= total * 0.99) return le;
  return null;
}

/** Produces `events` into `topic`, PRODUCE_IN_FLIGHT requests of PRODUCE_CHUNK at a time. */
export async function produceAll(
  p: KafkaEventProducer,
  topic: string,
  events: readonly InventoryEvent[],
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < events.length; i += PRODUCE_CHUNK) {
    const records: KeyedRecord[] = events
      .slice(i, i + PRODUCE_CHUNK)
      .map((e) => ({ key: eventKey(e), value: encodeEvent(e) }));
    const sent: Promise<void> = p.send(topic, records).then(() => {
      inFlight.delete(sent);
    });
    inFlight.add(sent);
    if (inFlight.size >= PRODUCE_IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

/** Process CPU (user + system) in seconds. */
export function cpuNowS(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
