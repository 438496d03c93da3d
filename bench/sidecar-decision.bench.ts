/**
 * Sidecar decision throughput and latency (issue 17 item 3), the server
 * pinned to one core (taskset -c 0), load from a separate process on the
 * other core (taskset -c 1). Four servers on the same HTTP edge:
 *   null   - fixed answer (the baseline: what the server stack alone costs);
 *   warm   - full checkout decision (ONNX model + policy + in-memory soft
 *            reservation), features through the hot cache (warmed with every
 *            requested SKU; it keeps the product's TTLs, so the bench
 *            reports its hit ratio);
 *   redis  - full decision, every feature read and soft reservation in Redis;
 *   browse - the warm server answering product pages (POST /v1/check-batch,
 *            BROWSE_PAGE_SKUS SKUs a page): SKU answers per second.
 * The world (--world sim, the default) is a simulator world of 10K SKUs,
 * Zipf popularity, ~48 stocked nodes per SKU (bench/lib/sidecar-bench-world.ts),
 * requests drawn by popularity; the model is the trained bundle models/CURRENT
 * names (--model DIR for another). --world tiny is the previous shape (1,000
 * SKUs on three nodes, a synthetic model) for comparison with older rows.
 * Measures, median of RUNS runs each, interleaved:
 *   1. max throughput with wrk (-t1 -c32): ratio to null (goals: warm >= 0.6,
 *      redis >= 0.5; browse SKU answers/s >= 10x warm decisions/s);
 *   2. latency at a constant RATE_SHARE of the kind's own measured capacity
 *      (bench/lib/constant-rate-load.ts, latency from the intended send
 *      time): p99 (goal < 2 ms warm).
 *
 *   npm run bench:sidecar [-- --world sim|tiny --model DIR --runs N]
 *
 * Writes bench/out/sidecar-decision.json and bench/out/sidecar-decision.html.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { testBundle } from '../tests/helpers/model-bundle.js';
import { startRedisServer } from '../tests/helpers/redis-server.js';
import {
  type BenchRequestLine,
  type BenchWorldKind,
  seedBenchWorld,
  writeRequestList,
} from './lib/sidecar-bench-world.js';

const WRK_SECONDS = 5;
const WRK_CONNECTIONS = 32;
/** The latency run loads each server at this share of its own measured capacity. */
const RATE_SHARE = 0.6;
const RATE_SECONDS = 8;
const RATE_CONNECTIONS = 64;
/** SKUs per product page (the issue's batch of 100). */
const BROWSE_PAGE_SKUS = 100;
const SERVER_CORE = '0';
const LOAD_CORE = '1';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'bench', 'out');
const REQUESTS_JSON = join(OUT_DIR, 'sidecar-requests.json');
const REQUESTS_TXT = join(OUT_DIR, 'sidecar-requests.txt');
const KINDS = ['null', 'warm', 'redis', 'browse'] as const;
type Kind = (typeof KINDS)[number];

const flags = parseArgs({
  options: {
    world: { type: 'string', default: 'sim' },
    model: { type: 'string' },
    runs: { type: 'string', default: '3' },
  },
}).values;
if (flags.world !== 'sim' && flags.world !== 'tiny') throw new Error('--world: expected sim or tiny');
const WORLD = flags.world as BenchWorldKind;
const RUNS = Number(flags.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs: expected a positive integer');

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
    REQUESTS_JSON,
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

interface CacheStats {
  hits: number;
  misses: number;
  stale: number;
}

/** Stops a server; resolves with the hot cache counters it printed on SIGTERM (null: none). */
function stop(proc: ChildProcess): Promise<CacheStats | null> {
  return new Promise((resolve) => {
    let stats: CacheStats | null = null;
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        stats = (JSON.parse(line) as { hotCache?: CacheStats | null }).hotCache ?? stats;
      } catch {
        // log line
      }
    });
    if (proc.exitCode !== null) return resolve(stats);
    proc.once('exit', () => resolve(stats));
    proc.kill('SIGTERM');
    setTimeout(() => proc.kill('SIGKILL'), 3_000).unref();
  });
}

const WRK_LUA = join(OUT_DIR, 'sidecar-decision.wrk.lua');
const WRK_BROWSE_LUA = join(OUT_DIR, 'sidecar-browse.wrk.lua');

/** wrk scripts replaying the request list: one checkout item, or a page of BROWSE_PAGE_SKUS SKUs. */
function writeWrkScripts(requests: readonly BenchRequestLine[]): void {
  writeFileSync(REQUESTS_TXT, `${requests.map((r) => `${r.sku} ${r.zone}`).join('\n')}\n`);
  const load = `local skus, zones = {}, {}\nfor line in io.lines("${REQUESTS_TXT}") do\n  local s, z = line:match("(%S+) (%S+)")\n  skus[#skus + 1] = s\n  zones[#zones + 1] = z\nend\nlocal n = #skus\nlocal i = 0\n`;
  writeFileSync(
    WRK_LUA,
    `${load}request = function()\n  i = i + 1\n  local k = (i % n) + 1\n  local body = '{"request_id":"w-' .. i .. '","buyer_zone":"' .. zones[k] .. '","channel":"checkout","items":[{"sku":"' .. skus[k] .. '","qty":1}]}'\n  return wrk.format("POST", "/v1/check", {["content-type"]="application/json"}, body)\nend\n`,
  );
  writeFileSync(
    WRK_BROWSE_LUA,
    `${load}request = function()\n  i = i + 1\n  local items = {}\n  for j = 0, ${BROWSE_PAGE_SKUS - 1} do\n    items[#items + 1] = '{"sku":"' .. skus[((i * ${BROWSE_PAGE_SKUS} + j) % n) + 1] .. '","qty":1}'\n  end\n  local body = '{"request_id":"p-' .. i .. '","buyer_zone":"' .. zones[(i % n) + 1] .. '","channel":"browse","items":[' .. table.concat(items, ",") .. ']}'\n  return wrk.format("POST", "/v1/check-batch", {["content-type"]="application/json"}, body)\nend\n`,
  );
}

function wrk(port: number, browse = false): number {
  const [cmd, ...args] = pin(LOAD_CORE, [
    'wrk',
    '-t1',
    `-c${WRK_CONNECTIONS}`,
    `-d${WRK_SECONDS}s`,
    '-s',
    browse ? WRK_BROWSE_LUA : WRK_LUA,
    `http://127.0.0.1:${port}`,
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

function constantRate(port: number, ratePerS: number): RateResult {
  const [cmd, ...args] = pin(LOAD_CORE, [
    process.execPath,
    '--import',
    'tsx',
    'bench/lib/constant-rate-load.ts',
    String(port),
    String(Math.round(ratePerS)),
    String(RATE_SECONDS),
    String(RATE_CONNECTIONS),
    REQUESTS_JSON,
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

async function main(): Promise<void> {
  if (!hasWrk) throw new Error('wrk is not installed (apt-get install -y wrk)');
  mkdirSync(OUT_DIR, { recursive: true });
  log(
    `sidecar-decision bench: world ${WORLD}, server on core ${SERVER_CORE}, load on core ${LOAD_CORE}${hasTaskset ? '' : ' (taskset missing: NOT pinned)'}`,
  );
  const redis = await startRedisServer();
  try {
    const world = await seedBenchWorld(redis.url, WORLD);
    log(
      `world: ${world.skus} SKUs, ${world.nodes} nodes, ${world.stockedPairs} stocked pairs (${world.meanNodesPerSku.toFixed(1)} nodes per SKU, ${world.meanNodesPerRequest.toFixed(1)} per requested SKU)`,
    );
    writeRequestList(REQUESTS_JSON, world.requests);
    writeWrkScripts(world.requests);
    const modelDir =
      flags.model ??
      (WORLD === 'tiny'
        ? testBundle('gbdt-bench', 1)
        : join(ROOT, 'models', readFileSync(join(ROOT, 'models', 'CURRENT'), 'utf8').trim()));
    const tput: Record<Kind, number[]> = { null: [], warm: [], redis: [], browse: [] };
    const lat: Record<Kind, RateResult[]> = { null: [], warm: [], redis: [], browse: [] };
    const hitRatio: Record<Kind, number[]> = { null: [], warm: [], redis: [], browse: [] };
    for (let run = 1; run <= RUNS; run++) {
      for (const kind of KINDS) {
        const { port, proc } = await startServer(kind, redis.url, modelDir);
        let stats: CacheStats | null = null;
        try {
          const browse = kind === 'browse';
          wrk(port, browse); // warm-up pass: JIT, caches, sockets (discarded)
          const rps = wrk(port, browse) * (browse ? BROWSE_PAGE_SKUS : 1);
          tput[kind].push(rps);
          if (browse) {
            log(
              `run ${run}/${RUNS} browse ${rps.toFixed(0).padStart(7)} SKU answers/s max (pages of ${BROWSE_PAGE_SKUS})`,
            );
            continue;
          }
          const rate = rps * RATE_SHARE;
          const r = constantRate(port, rate);
          lat[kind].push(r);
          log(
            `run ${run}/${RUNS} ${kind.padEnd(6)} ${rps.toFixed(0).padStart(7)} req/s max | at ${rate.toFixed(0)}/s: p50 ${(r.p50Us / 1000).toFixed(3)} ms p99 ${(r.p99Us / 1000).toFixed(3)} ms (achieved ${r.achievedPerS.toFixed(0)}/s, errors ${r.errors}, dropped ${r.dropped})`,
          );
        } finally {
          stats = await stop(proc);
        }
        if (stats !== null && stats.hits + stats.misses > 0) {
          hitRatio[kind].push(stats.hits / (stats.hits + stats.misses));
          log(`  hot cache: ${stats.hits} hits, ${stats.misses} misses, ${stats.stale} stale`);
        }
      }
    }
    const med = (xs: number[]) => (xs.length === 0 ? Number.NaN : median(xs));
    const summary = Object.fromEntries(
      KINDS.map((k) => [
        k,
        {
          throughputPerS: med(tput[k]),
          ratioToNull: med(tput[k]) / med(tput.null),
          p50Ms: med(lat[k].map((r) => r.p50Us)) / 1000,
          p99Ms: med(lat[k].map((r) => r.p99Us)) / 1000,
          p999Ms: med(lat[k].map((r) => r.p999Us)) / 1000,
          ratePerS: med(lat[k].map((r) => r.achievedPerS)),
          errors: lat[k].reduce((a, r) => a + r.errors + r.dropped, 0),
          hotCacheHitRatio: med(hitRatio[k]),
        },
      ]),
    ) as Record<Kind, Summary>;
    const browseToCheckout = summary.browse.throughputPerS / summary.warm.throughputPerS;
    const result = {
      bench: 'sidecar-decision',
      date: new Date().toISOString(),
      node: process.version,
      cpus: spawnSync('nproc').stdout?.toString().trim(),
      pinned: hasTaskset,
      /** Load averages at the end: other processes on the machine share the cores. */
      loadAvg: (await import('node:os')).loadavg(),
      runs: RUNS,
      world: { ...world, requests: world.requests.length },
      model: modelDir,
      wrk: { threads: 1, connections: WRK_CONNECTIONS, seconds: WRK_SECONDS },
      constantRate: { shareOfOwnCapacity: RATE_SHARE, seconds: RATE_SECONDS, connections: RATE_CONNECTIONS },
      goals: { warmRatioToNull: 0.6, redisRatioToNull: 0.5, warmP99Ms: 2, browseSkuAnswersPerCheckout: 10 },
      summary,
      browseSkuAnswersPerCheckout: browseToCheckout,
      raw: { throughput: tput, latency: lat, hotCacheHitRatio: hitRatio },
    };
    writeFileSync(join(OUT_DIR, 'sidecar-decision.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(OUT_DIR, 'sidecar-decision.html'), html(result.summary));
    for (const k of KINDS) {
      const s = summary[k];
      log(
        `${k.padEnd(6)} throughput ${s.throughputPerS.toFixed(0)}/s (x${s.ratioToNull.toFixed(2)} of null)${k === 'browse' ? ' SKU answers' : ` | at ${s.ratePerS.toFixed(0)}/s p50 ${s.p50Ms.toFixed(3)} ms p99 ${s.p99Ms.toFixed(3)} ms p99.9 ${s.p999Ms.toFixed(3)} ms`}${Number.isNaN(s.hotCacheHitRatio) ? '' : ` | hot cache hit ratio ${s.hotCacheHitRatio.toFixed(3)}`}`,
      );
    }
    const met = (ok: boolean) => (ok ? 'MET' : 'MISSED');
    log(
      `goals: warm ratio ${summary.warm.ratioToNull.toFixed(2)} (>= 0.6) ${met(summary.warm.ratioToNull >= 0.6)}; warm p99 ${summary.warm.p99Ms.toFixed(3)} ms at ${RATE_SHARE} of capacity (< 2 ms) ${met(summary.warm.p99Ms < 2)}; redis ratio ${summary.redis.ratioToNull.toFixed(2)} (>= 0.5) ${met(summary.redis.ratioToNull >= 0.5)}; browse SKU answers per checkout decision x${browseToCheckout.toFixed(1)} (>= 10) ${met(browseToCheckout >= 10)}`,
    );
  } finally {
    await redis.stop();
  }
}

interface Summary {
  throughputPerS: number;
  ratioToNull: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  ratePerS: number;
  errors: number;
  hotCacheHitRatio: number;
}

function html(s: Record<Kind, Summary>): string {
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
  KINDS.filter((k) => k !== 'browse').map((k) => [k, s[k].throughputPerS]),
  'req/s',
  s.null.throughputPerS * 0.6,
)}
<p>warm / null = ${s.warm.ratioToNull.toFixed(2)} (goal &ge; 0.6, the dashed line); redis / null = ${s.redis.ratioToNull.toFixed(2)} (goal &ge; 0.5); product-page SKU answers/s = ${s.browse.throughputPerS.toFixed(0)}, x${(s.browse.throughputPerS / s.warm.throughputPerS).toFixed(1)} of warm checkout decisions/s (goal &ge; 10)</p>
${bar(
  `p99 latency at ${RATE_SHARE} of each server's own capacity (median of runs)`,
  KINDS.filter((k) => k !== 'browse').map((k) => [k, s[k].p99Ms]),
  'ms',
  2,
)}
</body>`;
}

main().catch((err: Error) => {
  log(err.stack ?? err.message);
  process.exitCode = 1;
});
