/**
 * Ingest benchmark, against a private redis-server and librdkafka's mock
 * Kafka cluster (kcat), both started here.
 *
 *   node --import tsx bench/ingest.bench.ts [--events N] [--runs N] [--fresh-shares 0.5,...]
 *     [--rates N,N] [--seconds N] [--warmup-seconds N] [--ingest-args "--flag v ..."]
 *
 * (a) Throughput into Redis, median of RUNS runs, of EVENTS events of a
 *     simulated world (seed 1, delivery order), the three interleaved in each run:
 *     - baseline: raw pipelined HSET of the same events (key = the SKU hash,
 *       field = node, value = the wire JSON) in batches of BATCH_EVENTS: what
 *       Redis and the client cost with no feature logic at all;
 *     - store: RedisFeatureStore.applyEvents on the decoded events, same batches
 *       (read, fold with the shared feature module, compare-and-set);
 *     - ingester: the `ingest` CLI in its own process (one Node thread), the
 *       events pre-produced into a fresh topic; from WARMUP_SHARE of them
 *       applied to the last one (scraped every METRICS_SCRAPE_MS). Also per
 *       CPU-second of the ingester process, which stays meaningful on a
 *       machine shared with other work.
 * (b) Freshness (bench/lib/ingest-freshness.ts) at each share of the
 *     ingester's capacity measured in (a) (default 50%) and at each absolute
 *     rate given: event time to visible through RedisFeatureStore.readSku,
 *     the sidecar's read path, with its split (producer ack, ack to visible)
 *     and the ingester's CPU share while it ran. Goal: p99 < 500 ms at 50%.
 *
 * BENCH_INGEST_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the ingester processes.
 * Writes bench/out/ingest.json and bench/out/ingest.html (inline SVG plots).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { KafkaEventProducer } from '../adapters/src/kafka/kafka-event-producer.js';
import { createRedisClient } from '../adapters/src/redis/redis-client.js';
import { RedisFeatureStore } from '../adapters/src/redis/redis-feature-store.js';
import { skuKey } from '../adapters/src/redis/redis-keys.js';
import { encodeEvent, type InventoryEvent } from '../proto/v1/inventory-event.js';
import { mutationsTopic } from '../proto/v1/topics.js';
import { startKafkaMockCluster } from '../tests/helpers/kafka-mock-cluster.js';
import { startRedisServer } from '../tests/helpers/redis-server.js';
import { Simulator } from '../training/src/simulator/simulator.js';
import {
  cpuNowS,
  METRICS_SCRAPE_MS,
  median,
  produceAll,
  progressBar,
  sayer,
  scrape,
  spawnIngester,
  stopIngester,
  sumOf,
} from './lib/ingest-bench-kit.js';
import { type FreshnessResult, freshnessRun } from './lib/ingest-freshness.js';

const COMMAND = 'node --import tsx bench/ingest.bench.ts';
/** The mock keeps about 5 MB per partition (4 partitions): 60K events of ~250 B stay well inside. */
const DEFAULT_EVENTS = 60_000;
const DEFAULT_RUNS = 3;
/** Freshness is judged at a share of the ingester's own capacity measured in the same run (issue 17: 50%). */
const DEFAULT_FRESH_SHARES = [0.5];
/** Long enough for a stable p99 (hundreds of probes), short enough that a lagging ingester stays inside the mock's retention. */
const DEFAULT_SECONDS = 6;
/** Paced traffic before the probes are timed: the fresh ingester process compiles its code and settles its group. */
const DEFAULT_WARMUP_SECONDS = 2;
const SEED = 1;
/** Events per pipeline / applyEvents call in the baseline and store runs (about one fetch of one partition). */
const BATCH_EVENTS = 500;
/** Throughput is measured after the ingester applied this share of the events (JIT warm, group settled). */
const WARMUP_SHARE = 0.2;
const FRESHNESS_GOAL_P99_MS = 500;
const THROUGHPUT_GOAL_RATIO = 0.5;
const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'out');

const log = pino({ level: 'silent' });
const say = sayer('ingest.bench');
const bar = progressBar('ingest.bench');

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
  ingestArgs: readonly string[],
): Promise<Rate> {
  const region = `bench-tp-${process.pid}-${run}`;
  const topic = mutationsTopic(region);
  // The topic first exists, with every event in it, before the ingester starts.
  await produceAll(producer, topic, events);
  const ing = await spawnIngester(brokers, redisUrl, region, ingestArgs);
  try {
    // Steady state: the clock starts once WARMUP_SHARE of the events are applied (compiled code,
    // settled group) and stops when the last one is; both ends come from the ingester's metrics.
    const warm = Math.round(events.length * WARMUP_SHARE);
    let m = await scrape(ing.port);
    while (sumOf(m, 'atp_ingest_messages_total') < warm) {
      await sleep(METRICS_SCRAPE_MS);
      m = await scrape(ing.port);
    }
    const t0 = performance.now();
    const startMsgs = sumOf(m, 'atp_ingest_messages_total');
    const cpu0 = sumOf(m, 'atp_ingest_process_cpu_seconds_total');
    while (sumOf(m, 'atp_ingest_messages_total') < events.length) {
      await sleep(METRICS_SCRAPE_MS);
      m = await scrape(ing.port);
    }
    const seconds = (performance.now() - t0) / 1000;
    const counted = sumOf(m, 'atp_ingest_messages_total') - startMsgs;
    const result = rate(counted, seconds, sumOf(m, 'atp_ingest_process_cpu_seconds_total') - cpu0);
    // Everything applied is also committed (commits trail by up to a commit interval).
    while (!(await committedAll(admin, `atp-ingest-${region}`, topic, events.length)))
      await sleep(METRICS_SCRAPE_MS);
    return result;
  } finally {
    await stopIngester(ing);
  }
}

function list(raw: string | undefined, dflt: readonly number[]): number[] {
  return raw === undefined
    ? [...dflt]
    : raw
        .split(',')
        .filter((x) => x !== '')
        .map(Number);
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
<text x="${W - 200}" y="${40 + k * 16}" font-size="11" fill="${color}">${f.label}: p99 ${Math.round(f.p99Ms)} ms</text>`;
    })
    .join('');
  const cdf = `${curves}
<line x1="50" y1="${H - 30}" x2="${W - 10}" y2="${H - 30}" stroke="#333"/><line x1="50" y1="20" x2="50" y2="${H - 30}" stroke="#333"/>
<text x="50" y="${H - 10}" font-size="11">0 ms</text><text x="${W - 70}" y="${H - 10}" font-size="11">${Math.round(maxMs)} ms</text>
<text x="4" y="28" font-size="11">100%</text><text x="14" y="${H - 30}" font-size="11">0%</text>`;
  const freshRows = freshRuns
    .map(
      (f) =>
        `<tr><td>${f.label}</td><td>${Math.round(f.targetRatePerS).toLocaleString('en-US')}</td><td>${Math.round(f.achievedRatePerS).toLocaleString('en-US')}</td><td>${f.samplesMs.length}</td><td>${f.lost}</td><td>${Math.round(f.p50Ms)}</td><td>${Math.round(f.p95Ms)}</td><td><b>${Math.round(f.p99Ms)}</b></td><td>${Math.round(f.maxMs)}</td><td>${Math.round(f.produceAckP99Ms)}</td><td>${Math.round(f.ackToVisibleP99Ms)}</td><td>${Math.round(f.ingesterCpuShare * 100)}%</td></tr>`,
    )
    .join('');
  return `<!doctype html><meta charset="utf-8"><title>ingest bench</title>
<body style="font-family:sans-serif;max-width:760px;margin:2em auto">
<h1>Ingest benchmark</h1><p><code>${COMMAND}</code> &mdash; ${String(result.date)}</p>
<h2>(a) Throughput into Redis, median of ${String(result.runs)} runs, ${String(result.events)} simulated events</h2>
<svg width="${bw}" height="${bars.length * 34 + 10}">${barSvg}</svg>
<p>ingester per CPU-second: ${Math.round(tp.ingester?.eventsPerCpuS ?? 0).toLocaleString('en-US')} events; goal: ingester &ge; ${THROUGHPUT_GOAL_RATIO} &times; the baseline</p>
<h2>(b) Freshness: event time &rarr; visible in readSku (goal p99 &lt; ${FRESHNESS_GOAL_P99_MS} ms at 50% of the ingester's measured capacity)</h2>
<table border="1" cellpadding="4" style="border-collapse:collapse"><tr><th>load</th><th>target/s</th><th>achieved/s</th><th>probes seen</th><th>never seen</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th><th>event&rarr;ack p99</th><th>ack&rarr;visible p99</th><th>ingester CPU</th></tr>${freshRows}</table>
<svg width="${W}" height="${H}">${cdf}</svg><p>Cumulative share of probes visible by latency.</p>
<pre>${JSON.stringify(result, null, 2)}</pre></body>`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      runs: { type: 'string' },
      'fresh-shares': { type: 'string' },
      rates: { type: 'string' },
      seconds: { type: 'string' },
      'warmup-seconds': { type: 'string' },
      'ingest-args': { type: 'string' },
    },
  });
  const events = Number(values.events ?? DEFAULT_EVENTS);
  const runs = Number(values.runs ?? DEFAULT_RUNS);
  const shares = list(values['fresh-shares'], DEFAULT_FRESH_SHARES);
  const rates = list(values.rates, []);
  const seconds = Number(values.seconds ?? DEFAULT_SECONDS);
  const warmupSeconds = Number(values['warmup-seconds'] ?? DEFAULT_WARMUP_SECONDS);
  const ingestArgs = (values['ingest-args'] ?? '').split(' ').filter((a) => a !== '');
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
      runsOf.ingester.push(
        await ingesterRun(cluster.brokers, redisServer.url, admin, producer, world, run, ingestArgs),
      );
      bar(`throughput run ${run}/${runs}`, 3, 3);
    }
    const pick = (rs: Rate[]): Rate => {
      const m = median(rs.map((r) => r.eventsPerS));
      return rs.find((r) => r.eventsPerS === m) ?? (rs[0] as Rate);
    };
    const tp = {
      'raw HSET (baseline)': pick(runsOf.baseline),
      RedisFeatureStore: pick(runsOf.store),
      ingester: pick(runsOf.ingester),
    };
    // Ratios per run (each run's three measurements are interleaved), then their median.
    const perRun = runsOf.ingester.map(
      (r, i) => r.eventsPerS / (runsOf.baseline[i]?.eventsPerS ?? Number.NaN),
    );
    const capacity = tp.ingester.eventsPerS;
    const targets = [
      ...shares.map((share) => ({
        ratePerS: share * capacity,
        label: `${Math.round(share * 100)}% of measured capacity`,
      })),
      ...rates.map((r) => ({ ratePerS: r, label: `${r}/s` })),
    ];
    const freshRuns: FreshnessResult[] = [];
    for (const t of targets) {
      say(
        `freshness: ${Math.round(t.ratePerS)} events/s (${t.label}) for ${seconds} s after ${warmupSeconds} s of warm-up`,
      );
      freshRuns.push(
        await freshnessRun({
          brokers: cluster.brokers,
          redisUrl: redisServer.url,
          producer,
          ratePerS: t.ratePerS,
          seconds,
          warmupSeconds,
          ingestArgs,
          label: t.label,
        }),
      );
    }
    const result = {
      command: COMMAND,
      date: new Date().toISOString(),
      node: process.version,
      cpus: availableParallelism(),
      loadAverage1m: loadavg()[0],
      events: world.length,
      runs,
      ingestArgs,
      throughput: Object.fromEntries(Object.entries(tp)),
      allRuns: runsOf,
      ratios: {
        ingesterVsBaseline: tp.ingester.eventsPerS / tp['raw HSET (baseline)'].eventsPerS,
        ingesterVsBaselineMedianPerRun: median(perRun),
        ingesterVsBaselinePerRun: perRun,
        storeVsBaseline: tp.RedisFeatureStore.eventsPerS / tp['raw HSET (baseline)'].eventsPerS,
      },
      freshness: freshRuns.map(({ samplesMs, ...f }) => ({ ...f, samples: samplesMs.length })),
      goals: {
        ingesterVsBaseline: THROUGHPUT_GOAL_RATIO,
        freshnessP99MsAtHalfCapacity: FRESHNESS_GOAL_P99_MS,
      },
    };
    mkdirSync(OUT_DIR, { recursive: true });
    writeFileSync(join(OUT_DIR, 'ingest.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(OUT_DIR, 'ingest.html'), html(result, tp, freshRuns));
    const row = (name: string, r: Rate) =>
      `${name.padEnd(22)} ${Math.round(r.eventsPerS).toLocaleString('en-US').padStart(10)} events/s   ${Math.round(r.eventsPerCpuS).toLocaleString('en-US').padStart(10)} events/CPU-s`;
    const ms = (v: number) => `${Math.round(v)} ms`;
    process.stdout.write(
      [
        `command: ${COMMAND}${ingestArgs.length > 0 ? ` --ingest-args "${ingestArgs.join(' ')}"` : ''}`,
        `(a) throughput into Redis, ${world.length} simulated events, median of ${runs}:`,
        ...Object.entries(tp).map(([k, r]) => `  ${row(k, r)}`),
        `  ingester / baseline = ${result.ratios.ingesterVsBaseline.toFixed(2)} (per run: ${perRun.map((r) => r.toFixed(2)).join(', ')}; goal >= ${THROUGHPUT_GOAL_RATIO}), store / baseline = ${result.ratios.storeVsBaseline.toFixed(2)}`,
        `(b) freshness, event time -> visible in readSku (first-party probes), goal p99 < ${FRESHNESS_GOAL_P99_MS} ms at 50%:`,
        ...freshRuns.map(
          (f) =>
            `  ${f.label} = ${Math.round(f.targetRatePerS)}/s (achieved ${Math.round(f.achievedRatePerS)}): p50 ${ms(f.p50Ms)}  p95 ${ms(f.p95Ms)}  p99 ${ms(f.p99Ms)}  max ${ms(f.maxMs)}  (${f.samplesMs.length} probes, ${f.lost} never seen)\n` +
            `    split p50/p99: event -> producer ack ${ms(f.produceAckP50Ms)} / ${ms(f.produceAckP99Ms)}, ack -> visible ${ms(f.ackToVisibleP50Ms)} / ${ms(f.ackToVisibleP99Ms)}; poll round ${f.pollRoundMs.toFixed(1)} ms\n` +
            `    ingester: CPU ${(f.ingesterCpuShare * 100).toFixed(0)}% of a core, batch ${f.ingesterBatchMs.toFixed(1)} ms of ${f.ingesterEventsPerBatch.toFixed(0)} events; its event-age p99 <= ${f.ingesterAgeP99BucketS} s`,
        ),
        `  machine: ${availableParallelism()} CPUs, load average ${(loadavg()[0] ?? 0).toFixed(1)} at the end`,
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
