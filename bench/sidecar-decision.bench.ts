/**
 * Sidecar decision throughput and latency, single-item checkouts, the server
 * pinned to one core (taskset -c 0), load from a separate process on the
 * other core (taskset -c 1). Three servers on the same HTTP edge:
 *   null  - fixed answer (the baseline: what the server stack alone costs);
 *   warm  - full decision (ONNX model + policy + in-memory soft reservation),
 *           features from the warm hot cache;
 *   redis - full decision, every feature read and soft reservation in Redis.
 * Measures, median of RUNS runs each, interleaved:
 *   1. max throughput with wrk (-t1 -c32): ratio warm/null (goal >= 0.6);
 *   2. latency at a constant 5K decisions/s with bench/lib/constant-rate-load.ts
 *      (latency from the intended send time): p99 (goal < 2 ms warm).
 *
 *   node --import tsx bench/sidecar-decision.bench.ts
 *
 * Writes bench/out/sidecar-decision.json and bench/out/sidecar-decision.html.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRedisClient } from '../adapters/src/redis/redis-client.js';
import { RedisFeatureStore } from '../adapters/src/redis/redis-feature-store.js';
import { ev } from '../tests/helpers/events.js';
import { testBundle } from '../tests/helpers/model-bundle.js';
import { startRedisServer } from '../tests/helpers/redis-server.js';
import { publishTestDirectory } from '../tests/helpers/redis-world.js';
import { TINY_NODES } from '../tests/helpers/tiny-world.js';

const RUNS = 3;
const WRK_SECONDS = 5;
const WRK_CONNECTIONS = 32;
const RATE_PER_S = 5_000;
const RATE_SECONDS = 8;
const RATE_CONNECTIONS = 64;
const SKUS = 1_000;
const UNITS_PER_NODE = 10_000_000;
const SERVER_CORE = '0';
const LOAD_CORE = '1';
const REGION = 'eu-west';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'bench', 'out');
const KINDS = ['null', 'warm', 'redis'] as const;
type Kind = (typeof KINDS)[number];

const hasTaskset = spawnSync('taskset', ['-V']).status === 0;
const hasWrk = spawnSync('wrk', ['-v']).status !== null;
const pin = (core: string, cmd: string[]) => (hasTaskset ? ['taskset', '-c', core, ...cmd] : cmd);

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

async function startServer(
  kind: Kind,
  redisUrl: string,
  modelDir: string,
): Promise<{ port: number; proc: ChildProcess }> {
  const [cmd, ...args] = pin(SERVER_CORE, [
    process.execPath,
    '--import',
    'tsx',
    'bench/lib/sidecar-bench-server.ts',
    kind,
    redisUrl,
    modelDir,
    String(SKUS),
  ]);
  const proc = spawn(cmd!, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${kind} server exited (${code})`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const j = JSON.parse(line) as { ready?: boolean; port?: number };
        if (j.ready) resolve(j.port!);
      } catch {
        // log line
      }
    });
  });
  proc.removeAllListeners('exit');
  return { port, proc };
}

function stop(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
    setTimeout(() => proc.kill('SIGKILL'), 3_000).unref();
  });
}

const WRK_LUA = join(OUT_DIR, 'sidecar-decision.wrk.lua');

function wrk(port: number): number {
  const [cmd, ...args] = pin(LOAD_CORE, [
    'wrk',
    '-t1',
    `-c${WRK_CONNECTIONS}`,
    `-d${WRK_SECONDS}s`,
    '-s',
    WRK_LUA,
    `http://127.0.0.1:${port}/v1/check`,
  ]);
  const r = spawnSync(cmd!, args, { encoding: 'utf8' });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  if (m === null) throw new Error(`wrk printed no rate: ${r.stdout} ${r.stderr}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout);
  if (non2xx !== null) log(`  wrk: ${non2xx[1]} non-2xx answers`);
  return Number(m[1]);
}

interface RateResult {
  achievedPerS: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  errors: number;
  dropped: number;
}

function constantRate(port: number): RateResult {
  const [cmd, ...args] = pin(LOAD_CORE, [
    process.execPath,
    '--import',
    'tsx',
    'bench/lib/constant-rate-load.ts',
    String(port),
    String(RATE_PER_S),
    String(RATE_SECONDS),
    String(RATE_CONNECTIONS),
    String(SKUS),
  ]);
  const r = spawnSync(cmd!, args, { cwd: ROOT, encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as RateResult;
  } catch {
    throw new Error(`load generator failed: ${r.stdout} ${r.stderr}`);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function seed(url: string): Promise<void> {
  const c = await createRedisClient(url, 'write');
  await publishTestDirectory(c, REGION, TINY_NODES);
  const now = Date.now();
  const store = new RedisFeatureStore(c, REGION);
  // Heartbeats far enough in the future that nodes stay fresh for the whole run.
  await store.applyEvents(
    TINY_NODES.map((n) => ev('heartbeat', 0, 1, { node: n.nodeId, atMs: now + 3_600_000 })),
  );
  for (let s = 0; s < SKUS; s += 100) {
    const events = [];
    for (let k = s; k < Math.min(SKUS, s + 100); k++) {
      for (const n of TINY_NODES)
        events.push(
          ev('receipt', UNITS_PER_NODE, 1, { sku: `SKU-${k}`, node: n.nodeId, atMs: now - 10_000 }),
        );
    }
    await store.applyEvents(events);
  }
  c.disconnect();
}

async function main(): Promise<void> {
  if (!hasWrk) throw new Error('wrk is not installed (apt-get install -y wrk)');
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(
    WRK_LUA,
    `local i = 0\nrequest = function()\n  i = i + 1\n  local body = '{"request_id":"w-' .. i .. '","buyer_zone":"Z1-1","channel":"checkout","items":[{"sku":"SKU-' .. (i % ${SKUS}) .. '","qty":1}]}'\n  return wrk.format("POST", "/v1/check", {["content-type"]="application/json"}, body)\nend\n`,
  );
  log(
    `sidecar-decision bench: server on core ${SERVER_CORE}, load on core ${LOAD_CORE}${hasTaskset ? '' : ' (taskset missing: NOT pinned)'}`,
  );
  const redis = await startRedisServer();
  try {
    await seed(redis.url);
    const modelDir = testBundle('gbdt-bench', 1);
    const tput: Record<Kind, number[]> = { null: [], warm: [], redis: [] };
    const lat: Record<Kind, RateResult[]> = { null: [], warm: [], redis: [] };
    for (let run = 1; run <= RUNS; run++) {
      for (const kind of KINDS) {
        const { port, proc } = await startServer(kind, redis.url, modelDir);
        try {
          wrk(port); // warm-up pass: JIT, caches, sockets (discarded)
          const rps = wrk(port);
          tput[kind].push(rps);
          const r = constantRate(port);
          lat[kind].push(r);
          log(
            `run ${run}/${RUNS} ${kind.padEnd(5)} ${rps.toFixed(0).padStart(6)} req/s max | at ${RATE_PER_S}/s: p50 ${(r.p50Us / 1000).toFixed(3)} ms p99 ${(r.p99Us / 1000).toFixed(3)} ms (achieved ${r.achievedPerS.toFixed(0)}/s, errors ${r.errors}, dropped ${r.dropped})`,
          );
        } finally {
          await stop(proc);
        }
      }
    }
    const summary = Object.fromEntries(
      KINDS.map((k) => [
        k,
        {
          throughputPerS: median(tput[k]),
          ratioToNull: median(tput[k]) / median(tput.null),
          p50Ms: median(lat[k].map((r) => r.p50Us)) / 1000,
          p99Ms: median(lat[k].map((r) => r.p99Us)) / 1000,
          p999Ms: median(lat[k].map((r) => r.p999Us)) / 1000,
          achievedPerS: median(lat[k].map((r) => r.achievedPerS)),
          errors: lat[k].reduce((a, r) => a + r.errors + r.dropped, 0),
        },
      ]),
    ) as Record<
      Kind,
      {
        throughputPerS: number;
        ratioToNull: number;
        p50Ms: number;
        p99Ms: number;
        p999Ms: number;
        achievedPerS: number;
        errors: number;
      }
    >;
    const result = {
      bench: 'sidecar-decision',
      date: new Date().toISOString(),
      node: process.version,
      cpus: spawnSync('nproc').stdout?.toString().trim(),
      pinned: hasTaskset,
      /** 1-minute load average at the end: other processes on the machine share the cores. */
      loadAvg: (await import('node:os')).loadavg(),
      runs: RUNS,
      wrk: { threads: 1, connections: WRK_CONNECTIONS, seconds: WRK_SECONDS },
      constantRate: { perS: RATE_PER_S, seconds: RATE_SECONDS, connections: RATE_CONNECTIONS },
      skus: SKUS,
      goals: { warmRatioToNull: 0.6, warmP99Ms: 2 },
      summary,
      raw: { throughput: tput, latency: lat },
    };
    writeFileSync(join(OUT_DIR, 'sidecar-decision.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(OUT_DIR, 'sidecar-decision.html'), html(result.summary));
    for (const k of KINDS) {
      const s = summary[k];
      log(
        `${k.padEnd(5)} throughput ${s.throughputPerS.toFixed(0)}/s (x${s.ratioToNull.toFixed(2)} of null) | at ${RATE_PER_S}/s p50 ${s.p50Ms.toFixed(3)} ms p99 ${s.p99Ms.toFixed(3)} ms p99.9 ${s.p999Ms.toFixed(3)} ms`,
      );
    }
    log(
      `goals: warm ratio ${summary.warm.ratioToNull.toFixed(2)} (>= 0.6) ${summary.warm.ratioToNull >= 0.6 ? 'MET' : 'MISSED'}; warm p99 ${summary.warm.p99Ms.toFixed(3)} ms (< 2 ms) ${summary.warm.p99Ms < 2 ? 'MET' : 'MISSED'}`,
    );
  } finally {
    await redis.stop();
  }
}

function html(
  s: Record<
    Kind,
    { throughputPerS: number; ratioToNull: number; p50Ms: number; p99Ms: number; p999Ms: number }
  >,
): string {
  const bar = (label: string, values: [string, number][], unit: string, goal?: number) => {
    const max = Math.max(...values.map(([, v]) => v), goal ?? 0) * 1.1;
    const rows = values
      .map(([k, v], i) => {
        const w = (v / max) * 400;
        return `<text x="0" y="${25 + i * 30}" font-size="13">${k}</text><rect x="60" y="${12 + i * 30}" width="${w.toFixed(1)}" height="18" fill="#4a7"/><text x="${(65 + w).toFixed(1)}" y="${25 + i * 30}" font-size="12">${v.toFixed(unit === 'ms' ? 3 : 0)} ${unit}</text>`;
      })
      .join('');
    const g =
      goal === undefined
        ? ''
        : `<line x1="${(60 + (goal / max) * 400).toFixed(1)}" x2="${(60 + (goal / max) * 400).toFixed(1)}" y1="5" y2="${15 + values.length * 30}" stroke="#c33" stroke-dasharray="4"/><text x="${(62 + (goal / max) * 400).toFixed(1)}" y="${25 + values.length * 30}" font-size="11" fill="#c33">goal ${goal} ${unit}</text>`;
    return `<h3>${label}</h3><svg width="640" height="${40 + values.length * 30}">${rows}${g}</svg>`;
  };
  return `<!doctype html><meta charset="utf-8"><title>sidecar-decision bench</title><body style="font-family:sans-serif">
<h2>Sidecar single-item checkout decisions, one core</h2>
${bar(
  'Max throughput (wrk, median)',
  KINDS.map((k) => [k, s[k].throughputPerS]),
  'req/s',
  s.null.throughputPerS * 0.6,
)}
<p>warm / null = ${s.warm.ratioToNull.toFixed(2)} (goal &ge; 0.6, the dashed line); redis / null = ${s.redis.ratioToNull.toFixed(2)}</p>
${bar(
  `p99 latency at ${RATE_PER_S}/s (median of runs)`,
  KINDS.map((k) => [k, s[k].p99Ms]),
  'ms',
  2,
)}
</body>`;
}

main().catch((err: Error) => {
  log(err.stack ?? err.message);
  process.exitCode = 1;
});
