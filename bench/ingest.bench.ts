/**
 * Ingest benchmark, against a private redis-server and librdkafka's mock
 * Kafka cluster (kcat), both started here.
 *
 *   node --import tsx bench/ingest.bench.ts [--events N] [--runs N] [--rates N,N] [--seconds N]
 *
 * (a) Throughput into Redis, median of RUNS runs, of EVENTS events of a
 *     simulated world (seed 1, delivery order):
 *     - baseline, measured in the same run: raw pipelined HSET of the same
 *       events (key = the SKU hash, field = node, value = the wire JSON) in
 *       batches of BATCH_EVENTS: what Redis and the client cost with no
 *       feature logic at all;
 *     - store: RedisFeatureStore.applyEvents on the decoded events, same batches
 *       (read, fold with the shared feature module, compare-and-set);
 *     - ingester: the `ingest` CLI in its own process (one Node thread), the
 *       events pre-produced into a fresh topic; from its first fetch to the
 *       last record committed. Also reported per CPU-second of the ingester
 *       process, which stays meaningful on a machine shared with other work.
 * (b) Freshness at each of RATES events/s (the 25K/s goal rate, and a lower
 *     one for comparison) for SECONDS seconds produced into the mock: probe
 *     events (PROBE_EVERY_MS apart, first-party) are polled through
 *     RedisFeatureStore.readSku, the sidecar's read path; freshness = time
 *     visible there - event time. Goal: p99 < 1 s first-party at 25K/s.
 *     The mock keeps about 5 MB per partition: if the ingester falls further
 *     behind than that, the oldest records are deleted before it reads them
 *     and their probes are reported as never seen.
 *
 * Writes bench/out/ingest.json and bench/out/ingest.html (inline SVG plots).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { KafkaEventProducer, type KeyedRecord } from '../adapters/src/kafka/kafka-event-producer.js';
import { createRedisClient } from '../adapters/src/redis/redis-client.js';
import { RedisFeatureStore } from '../adapters/src/redis/redis-feature-store.js';
import { skuKey } from '../adapters/src/redis/redis-keys.js';
import { R } from '../features/src/record-layout.js';
import { encodeEvent, eventKey, type InventoryEvent } from '../proto/v1/inventory-event.js';
import { mutationsTopic } from '../proto/v1/topics.js';
import { startKafkaMockCluster } from '../tests/helpers/kafka-mock-cluster.js';
import { startRedisServer } from '../tests/helpers/redis-server.js';
import { Simulator } from '../training/src/simulator/simulator.js';

const COMMAND = 'node --import tsx bench/ingest.bench.ts';
/** The mock keeps about 5 MB per partition (4 partitions): 60K events of ~250 B stay well inside. */
const DEFAULT_EVENTS = 60_000;
const DEFAULT_RUNS = 3;
const DEFAULT_RATES_PER_S = [25_000, 10_000];
/** Long enough for a stable p99 (hundreds of probes), short enough that a lagging ingester stays inside the mock's retention. */
const DEFAULT_SECONDS = 6;
const SEED = 1;
/** Events per pipeline / applyEvents call in the baseline and store runs (about one fetch of one partition). */
const BATCH_EVENTS = 500;
/** Produce requests in flight while pre-producing. */
const PRODUCE_IN_FLIGHT = 8;
const PRODUCE_CHUNK = 1_000;
/** Freshness run: SKU pool of the background traffic, and the probes. */
const FRESH_SKUS = 20_000;
const FRESH_NODES = ['WH-1', 'WH-2', 'ST-1', 'ST-2', 'SL-1'];
const PROBE_SKUS = 50;
const PROBE_EVERY_MS = 20;
const PROBE_POLL_MS = 2;
/** Produce ticks of the paced freshness producer. */
const TICK_MS = 10;
const CAUGHT_UP_POLL_MS = 20;
/** Throughput is measured after the ingester applied this share of the events (JIT warm, group settled). */
const WARMUP_SHARE = 0.2;
const BAR_REDRAW_MS = 250;
const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'out');
const INGEST_CLI = fileURLToPath(new URL('../ingest/src/main.ts', import.meta.url));

const log = pino({ level: 'silent' });

function say(msg: string): void {
  process.stderr.write(`[ingest.bench] ${msg}\n`);
}

let lastBarMs = 0;
/** Redraws at most every BAR_REDRAW_MS (always at 100%). */
function bar(label: string, done: number, total: number): void {
  const now = performance.now();
  if (done < total && now - lastBarMs < BAR_REDRAW_MS) return;
  lastBarMs = now;
  const share = Math.min(1, done / total);
  const filled = Math.round(share * 30);
  process.stderr.write(
    `\r[ingest.bench] ${label.padEnd(28)} [${'#'.repeat(filled)}${'-'.repeat(30 - filled)}] ${(share * 100).toFixed(0).padStart(3)}%`,
  );
  if (done >= total) process.stderr.write('\n');
}

interface Rate {
  events: number;
  seconds: number;
  eventsPerS: number;
  cpuSeconds: number;
  eventsPerCpuS: number;
}

function rate(events: number, seconds: number, cpuSeconds: number): Rate {
  return {
    events,
    seconds,
    eventsPerS: events / seconds,
    cpuSeconds,
    eventsPerCpuS: cpuSeconds > 0 ? events / cpuSeconds : 0,
  };
}

function cpuNowS(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function simulatedEvents(n: number): InventoryEvent[] {
  const out: InventoryEvent[] = [];
  const sim = new Simulator({ seed: SEED, maxEvents: n });
  for (const r of sim.run()) if (r.type === 'event') out.push(r.event);
  return out;
}

async function rawHset(redis: Redis, region: string, events: readonly InventoryEvent[]): Promise<Rate> {
  const t0 = performance.now();
  const c0 = cpuNowS();
  for (let i = 0; i < events.length; i += BATCH_EVENTS) {
    const p = redis.pipeline();
    for (const e of events.slice(i, i + BATCH_EVENTS)) p.hset(skuKey(region, e.sku), e.node, encodeEvent(e));
    await p.exec();
  }
  return rate(events.length, (performance.now() - t0) / 1000, cpuNowS() - c0);
}

async function storeOnly(redis: Redis, region: string, events: readonly InventoryEvent[]): Promise<Rate> {
  const store = new RedisFeatureStore(redis, region);
  const t0 = performance.now();
  const c0 = cpuNowS();
  for (let i = 0; i < events.length; i += BATCH_EVENTS)
    await store.applyEvents(events.slice(i, i + BATCH_EVENTS));
  return rate(events.length, (performance.now() - t0) / 1000, cpuNowS() - c0);
}

interface CliIngester {
  proc: ChildProcess;
  port: number;
  exited: Promise<void>;
}

async function spawnIngester(brokers: string[], redisUrl: string, region: string): Promise<CliIngester> {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      INGEST_CLI,
      '--brokers',
      brokers.join(','),
      '--redis',
      redisUrl,
      '--region',
      region,
      '--metrics-port',
      '0',
      '--metrics-host',
      '127.0.0.1',
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { msg?: string; metricsPort?: number };
        if (rec.msg === 'ingest started') resolve(rec.metricsPort!);
      } catch {
        // not a log line
      }
    });
    void exited.then(() => reject(new Error('the ingest CLI exited before it started')));
  });
  return { proc, port, exited };
}

async function scrape(port: number): Promise<Map<string, number>> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

function sumOf(m: Map<string, number>, prefix: string): number {
  let s = 0;
  for (const [k, v] of m) if (k === prefix || k.startsWith(`${prefix}{`)) s += v;
  return s;
}

async function produceAll(
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

async function committedAll(admin: Admin, groupId: string, topic: string, total: number): Promise<boolean> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const sum = (offsets?.partitions ?? []).reduce((a, p) => a + Math.max(0, Number(p.offset)), 0);
  return sum >= total;
}

async function ingesterRun(
  brokers: string[],
  redisUrl: string,
  admin: Admin,
  producer: KafkaEventProducer,
  events: readonly InventoryEvent[],
  run: number,
): Promise<Rate> {
  const region = `bench-tp-${process.pid}-${run}`;
  const topic = mutationsTopic(region);
  // The topic first exists, with every event in it, before the ingester starts.
  await produceAll(producer, topic, events);
  const ing = await spawnIngester(brokers, redisUrl, region);
  try {
    // Steady state: the clock starts once WARMUP_SHARE of the events are applied (compiled code,
    // settled group) and stops when the last one is; both ends come from the ingester's metrics.
    const warm = Math.round(events.length * WARMUP_SHARE);
    let m = await scrape(ing.port);
    while (sumOf(m, 'atp_ingest_messages_total') < warm) {
      await sleep(CAUGHT_UP_POLL_MS);
      m = await scrape(ing.port);
    }
    const t0 = performance.now();
    const startMsgs = sumOf(m, 'atp_ingest_messages_total');
    const cpu0 = sumOf(m, 'atp_ingest_process_cpu_seconds_total');
    while (sumOf(m, 'atp_ingest_messages_total') < events.length) {
      await sleep(CAUGHT_UP_POLL_MS);
      m = await scrape(ing.port);
    }
    const seconds = (performance.now() - t0) / 1000;
    const counted = sumOf(m, 'atp_ingest_messages_total') - startMsgs;
    const result = rate(counted, seconds, sumOf(m, 'atp_ingest_process_cpu_seconds_total') - cpu0);
    // Everything applied is also committed (commits trail by up to a commit interval).
    while (!(await committedAll(admin, `atp-ingest-${region}`, topic, events.length)))
      await sleep(CAUGHT_UP_POLL_MS);
    return result;
  } finally {
    ing.proc.kill('SIGTERM');
    await ing.exited;
  }
}

interface FreshnessResult {
  targetRatePerS: number;
  producedEvents: number;
  achievedRatePerS: number;
  seconds: number;
  probes: number;
  lost: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  samplesMs: number[];
  ingesterAgeP99BucketS: number | null;
}

async function freshnessRun(
  brokers: string[],
  redisUrl: string,
  producer: KafkaEventProducer,
  ratePerS: number,
  seconds: number,
): Promise<FreshnessResult> {
  const region = `bench-fresh-${process.pid}-${ratePerS}`;
  const topic = mutationsTopic(region);
  // Create the topic, then let the ingester join before traffic starts.
  await producer.send(topic, [{ key: 'warmup', value: 'not an event' }]);
  const ing = await spawnIngester(brokers, redisUrl, region);
  const reader = await createRedisClient(redisUrl, 'write');
  const store = new RedisFeatureStore(reader, region);
  const seq = new Map<string, number>();
  const nextSeq = (sku: string, node: string) => {
    const k = `${sku}|${node}`;
    const s = (seq.get(k) ?? 0) + 1;
    seq.set(k, s);
    return s;
  };
  let produced = 0;
  let eventCounter = 0;
  // Outstanding probes: sku -> [sequence, eventTimeMs] in sequence order.
  const outstanding = new Map<string, [number, number][]>();
  const samples: number[] = [];
  let probesSent = 0;
  let lastProbeMs = 0;
  let running = true;
  const poller = (async () => {
    while (running || outstanding.size > 0) {
      const skus = [...outstanding.keys()];
      await Promise.all(
        skus.map(async (sku) => {
          const view = await store.readSku(sku);
          const now = Date.now();
          if (view.nodeIds.length === 0) return;
          const visibleUpTo = view.recs[R.nextSeq]! - 1;
          const list = outstanding.get(sku)!;
          while (list.length > 0 && list[0]![0] <= visibleUpTo) samples.push(now - list.shift()![1]);
          if (list.length === 0) outstanding.delete(sku);
        }),
      );
      if (!running && Date.now() - lastProbeMs > 30_000) break;
      await sleep(PROBE_POLL_MS);
    }
  })();
  const t0 = performance.now();
  const total = Math.round(ratePerS * seconds);
  let rnd = 12345;
  const next = () => {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    return rnd / 4294967296;
  };
  const inFlight = new Set<Promise<void>>();
  while (produced < total) {
    const dueByNow = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * ratePerS));
    const n = dueByNow - produced;
    if (n > 0) {
      const now = Date.now();
      const records: KeyedRecord[] = [];
      for (let i = 0; i < n; i++) {
        const sku = `F-${Math.floor(next() * FRESH_SKUS)}`;
        const node = FRESH_NODES[Math.floor(next() * FRESH_NODES.length)]!;
        const e: InventoryEvent = {
          eventId: `f-${++eventCounter}`,
          sku,
          node,
          kind: 'receipt',
          quantity: 1,
          sequence: nextSeq(sku, node),
          eventTimeMs: now,
          source: node.startsWith('SL') ? 'third-party' : 'first-party',
        };
        records.push({ key: eventKey(e), value: encodeEvent(e) });
      }
      if (now - lastProbeMs >= PROBE_EVERY_MS) {
        lastProbeMs = now;
        const sku = `PROBE-${probesSent % PROBE_SKUS}`;
        const e: InventoryEvent = {
          eventId: `probe-${probesSent}`,
          sku,
          node: 'WH-P',
          kind: 'receipt',
          quantity: 1,
          sequence: nextSeq(sku, 'WH-P'),
          eventTimeMs: now,
          source: 'first-party',
        };
        probesSent++;
        records.push({ key: eventKey(e), value: encodeEvent(e) });
        const list = outstanding.get(sku) ?? [];
        list.push([e.sequence, e.eventTimeMs]);
        outstanding.set(sku, list);
      }
      const sent: Promise<void> = producer.send(topic, records).then(() => {
        inFlight.delete(sent);
      });
      inFlight.add(sent);
      produced += n;
      bar(`freshness @ ${ratePerS}/s`, produced, total);
    }
    if (inFlight.size >= PRODUCE_IN_FLIGHT) await Promise.race(inFlight);
    await sleep(TICK_MS);
  }
  await Promise.all(inFlight);
  const producedSeconds = (performance.now() - t0) / 1000;
  running = false;
  await poller;
  const m = await scrape(ing.port);
  ing.proc.kill('SIGTERM');
  await ing.exited;
  reader.disconnect();
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    targetRatePerS: ratePerS,
    producedEvents: produced,
    achievedRatePerS: produced / producedSeconds,
    seconds: producedSeconds,
    probes: probesSent,
    lost: probesSent - samples.length,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    samplesMs: samples,
    ingesterAgeP99BucketS: histogramP99(m, 'atp_ingest_event_age_seconds', 'first-party'),
  };
}

/** Upper bound of the bucket holding the 99th percentile of a scraped histogram. */
function histogramP99(m: Map<string, number>, name: string, source: string): number | null {
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

function html(
  result: Record<string, unknown>,
  tp: Record<string, Rate>,
  freshRuns: FreshnessResult[],
): string {
  const bars = Object.entries(tp);
  const maxRate = Math.max(...bars.map(([, r]) => r.eventsPerS));
  const bw = 520;
  const barSvg = bars
    .map(([name, r], i) => {
      const w = (r.eventsPerS / maxRate) * (bw - 180);
      return `<text x="0" y="${i * 34 + 20}" font-size="13">${name}</text><rect x="170" y="${i * 34 + 6}" width="${w.toFixed(1)}" height="20" fill="#4a7bd0"/><text x="${(176 + w).toFixed(1)}" y="${i * 34 + 20}" font-size="12">${Math.round(r.eventsPerS).toLocaleString('en-US')}/s</text>`;
    })
    .join('');
  const W = 520;
  const H = 220;
  const colors = ['#c0392b', '#27ae60', '#8e44ad', '#d35400'];
  const maxMs = Math.max(1, ...freshRuns.map((f) => Math.max(0, ...f.samplesMs)));
  const x = (ms: number) => ((ms / maxMs) * (W - 60) + 50).toFixed(1);
  const curves = freshRuns
    .map((f, k) => {
      const sorted = [...f.samplesMs].sort((a, b) => a - b);
      const pts = sorted
        .map((v, i) => `${x(v)},${(H - 30 - ((i + 1) / sorted.length) * (H - 50)).toFixed(1)}`)
        .join(' ');
      const color = colors[k % colors.length];
      return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts}"/>
<line x1="${x(f.p99Ms)}" y1="20" x2="${x(f.p99Ms)}" y2="${H - 30}" stroke="${color}" stroke-dasharray="4"/>
<text x="${W - 200}" y="${40 + k * 16}" font-size="11" fill="${color}">${f.targetRatePerS.toLocaleString('en-US')}/s: p99 ${Math.round(f.p99Ms)} ms</text>`;
    })
    .join('');
  const cdf = `${curves}
<line x1="50" y1="${H - 30}" x2="${W - 10}" y2="${H - 30}" stroke="#333"/><line x1="50" y1="20" x2="50" y2="${H - 30}" stroke="#333"/>
<text x="50" y="${H - 10}" font-size="11">0 ms</text><text x="${W - 70}" y="${H - 10}" font-size="11">${Math.round(maxMs)} ms</text>
<text x="4" y="28" font-size="11">100%</text><text x="14" y="${H - 30}" font-size="11">0%</text>`;
  const freshRows = freshRuns
    .map(
      (f) =>
        `<tr><td>${f.targetRatePerS.toLocaleString('en-US')}</td><td>${Math.round(f.achievedRatePerS).toLocaleString('en-US')}</td><td>${f.samplesMs.length}</td><td>${f.lost}</td><td>${Math.round(f.p50Ms)}</td><td>${Math.round(f.p95Ms)}</td><td><b>${Math.round(f.p99Ms)}</b></td><td>${Math.round(f.maxMs)}</td></tr>`,
    )
    .join('');
  return `<!doctype html><meta charset="utf-8"><title>ingest bench</title>
<body style="font-family:sans-serif;max-width:760px;margin:2em auto">
<h1>Ingest benchmark</h1><p><code>${COMMAND}</code> &mdash; ${String(result.date)}</p>
<h2>(a) Throughput into Redis, median of ${String(result.runs)} runs, ${String(result.events)} simulated events</h2>
<svg width="${bw}" height="${bars.length * 34 + 10}">${barSvg}</svg>
<p>ingester per CPU-second: ${Math.round(tp.ingester!.eventsPerCpuS).toLocaleString('en-US')} events (goal &ge; 50,000 on one core)</p>
<h2>(b) Freshness: event time &rarr; visible in readSku (goal p99 &lt; 1000 ms first-party at 25,000/s)</h2>
<table border="1" cellpadding="4" style="border-collapse:collapse"><tr><th>target/s</th><th>achieved/s</th><th>probes seen</th><th>never seen</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr>${freshRows}</table>
<svg width="${W}" height="${H}">${cdf}</svg><p>Cumulative share of probes visible by latency.</p>
<pre>${JSON.stringify(result, null, 2)}</pre></body>`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      runs: { type: 'string' },
      rates: { type: 'string' },
      seconds: { type: 'string' },
    },
  });
  const events = Number(values.events ?? DEFAULT_EVENTS);
  const runs = Number(values.runs ?? DEFAULT_RUNS);
  const rates = values.rates === undefined ? DEFAULT_RATES_PER_S : values.rates.split(',').map(Number);
  const seconds = Number(values.seconds ?? DEFAULT_SECONDS);
  say(`starting redis-server and the kcat mock cluster (3 brokers)`);
  const cluster = await startKafkaMockCluster();
  const redisServer = await startRedisServer();
  const redis = await createRedisClient(redisServer.url, 'write');
  const admin = new Kafka({
    clientId: 'bench-admin',
    brokers: cluster.brokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  const producer = new KafkaEventProducer({
    brokers: cluster.brokers,
    clientId: 'bench-producer',
    logger: log,
  });
  await producer.start();
  try {
    say(`simulating ${events} events (seed ${SEED})`);
    const world = simulatedEvents(events);
    // One unmeasured pass of each in-process path, so every measured run sees compiled code.
    say('warm-up pass');
    const warmup = world.slice(0, Math.round(world.length * WARMUP_SHARE));
    await rawHset(redis, 'bench-warm-raw', warmup);
    await storeOnly(redis, 'bench-warm-store', warmup);
    const runsOf: Record<'baseline' | 'store' | 'ingester', Rate[]> = {
      baseline: [],
      store: [],
      ingester: [],
    };
    for (let run = 1; run <= runs; run++) {
      bar(`throughput run ${run}/${runs}`, 0, 3);
      runsOf.baseline.push(await rawHset(redis, `bench-raw-${run}`, world));
      bar(`throughput run ${run}/${runs}`, 1, 3);
      runsOf.store.push(await storeOnly(redis, `bench-store-${run}`, world));
      bar(`throughput run ${run}/${runs}`, 2, 3);
      runsOf.ingester.push(await ingesterRun(cluster.brokers, redisServer.url, admin, producer, world, run));
      bar(`throughput run ${run}/${runs}`, 3, 3);
    }
    const pick = (rs: Rate[]): Rate => {
      const m = median(rs.map((r) => r.eventsPerS));
      return rs.find((r) => r.eventsPerS === m)!;
    };
    const tp = {
      'raw HSET (baseline)': pick(runsOf.baseline),
      RedisFeatureStore: pick(runsOf.store),
      ingester: pick(runsOf.ingester),
    };
    const freshRuns: FreshnessResult[] = [];
    for (const ratePerS of rates) {
      say(`freshness: ${ratePerS} events/s for ${seconds} s`);
      freshRuns.push(await freshnessRun(cluster.brokers, redisServer.url, producer, ratePerS, seconds));
    }
    const result = {
      command: COMMAND,
      date: new Date().toISOString(),
      node: process.version,
      cpus: availableParallelism(),
      loadAverage1m: loadavg()[0],
      events: world.length,
      runs,
      throughput: Object.fromEntries(Object.entries(tp)),
      allRuns: runsOf,
      ratios: {
        ingesterVsBaseline: tp.ingester.eventsPerS / tp['raw HSET (baseline)'].eventsPerS,
        storeVsBaseline: tp.RedisFeatureStore.eventsPerS / tp['raw HSET (baseline)'].eventsPerS,
      },
      freshness: freshRuns.map(({ samplesMs, ...f }) => ({ ...f, samples: samplesMs.length })),
      goals: {
        throughputEventsPerS: 50_000,
        freshnessP99MsFirstPartyAt25K: 1_000,
      },
    };
    mkdirSync(OUT_DIR, { recursive: true });
    writeFileSync(join(OUT_DIR, 'ingest.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(OUT_DIR, 'ingest.html'), html(result, tp, freshRuns));
    const row = (name: string, r: Rate) =>
      `${name.padEnd(22)} ${Math.round(r.eventsPerS).toLocaleString('en-US').padStart(10)} events/s   ${Math.round(r.eventsPerCpuS).toLocaleString('en-US').padStart(10)} events/CPU-s`;
    process.stdout.write(
      [
        `command: ${COMMAND}`,
        `(a) throughput into Redis, ${world.length} simulated events, median of ${runs}:`,
        ...Object.entries(tp).map(([k, r]) => `  ${row(k, r)}`),
        `  ingester / baseline = ${result.ratios.ingesterVsBaseline.toFixed(2)}, store / baseline = ${result.ratios.storeVsBaseline.toFixed(2)}`,
        `(b) freshness, event time -> visible in readSku (first-party probes every ${PROBE_EVERY_MS} ms):`,
        ...freshRuns.map(
          (f) =>
            `  at ${f.targetRatePerS}/s (achieved ${Math.round(f.achievedRatePerS)}): p50 ${Math.round(f.p50Ms)} ms  p95 ${Math.round(f.p95Ms)} ms  p99 ${Math.round(f.p99Ms)} ms  max ${Math.round(f.maxMs)} ms  (${f.samplesMs.length} probes, ${f.lost} never seen; ingester histogram p99 <= ${f.ingesterAgeP99BucketS} s)`,
        ),
        `  machine: ${availableParallelism()} CPUs, load average ${loadavg()[0]!.toFixed(1)} at the end`,
        `wrote bench/out/ingest.json and bench/out/ingest.html`,
        '',
      ].join('\n'),
    );
  } finally {
    await producer.stop().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    redis.disconnect();
    await cluster.stop();
    await redisServer.stop();
  }
}

await main();
