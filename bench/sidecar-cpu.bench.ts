/**
 * CPU cost per checkout decision and per product-page SKU answer, in process
 * (issue 17 items 1, 2 and 5): the capacity plan's per-core inputs. Process
 * CPU time, not wall time, so the figures hold on a shared box better than
 * a throughput run does (they still rise with cache and hyperthread contention).
 *
 * The bench world (bench/lib/sidecar-bench-world.ts: 10K SKUs, Zipf, ~48
 * stocked nodes per SKU) in a private Redis; the trained bundle models/CURRENT
 * names; the hot cache warmed with every requested SKU and the business clock
 * standing still (every feature read a hot-cache hit). Median of PASSES:
 *   checkout: CPU µs per single-item decision (engine, in-memory holds);
 *   browse:   CPU µs per SKU answer of pages of 100 through the service the
 *             edges use (kept answers; the first pass computes them).
 *
 *   node --import tsx bench/sidecar-cpu.bench.ts [--requests N] [--pages N]
 */

import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseCheckRequest } from '../proto/v1/decision.js';
import { MemoryReservationStore } from '../sidecar/src/adapters/memory/memory-reservation-store.js';
import { BrowseAnswers } from '../sidecar/src/browse/browse-answers.js';
import { connectRedisStores } from '../sidecar/src/redis-wiring.js';
import { createSidecar } from '../sidecar/src/sidecar.js';
import { startRedisServer } from '../tests/helpers/redis-server.js';
import { BENCH_REGION, benchBody, seedBenchWorld } from './lib/sidecar-bench-world.js';

const PASSES = 3;
const PAGE_SKUS = 100;
/** Generous: the bench measures CPU cost, not the production give-up point. */
const BENCH_INFERENCE_TIMEOUT_MS = 1_000;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const flags = parseArgs({
  options: { requests: { type: 'string', default: '5000' }, pages: { type: 'string', default: '50' } },
}).values;
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const redis = await startRedisServer();
  try {
    const world = await seedBenchWorld(redis.url, 'sim');
    const stores = await connectRedisStores(redis.url, BENCH_REGION);
    const frozenMs = Date.now();
    const sc = createSidecar({
      region: BENCH_REGION,
      featureReader: stores.featureReader,
      nodeDirectory: stores.nodeDirectory,
      reservations: new MemoryReservationStore(),
      hotCacheRecords: 2_000_000,
      modelDir: join(ROOT, 'models', readFileSync(join(ROOT, 'models', 'CURRENT'), 'utf8').trim()),
      closers: stores.closers,
      defaultMetrics: false,
      clock: () => frozenMs,
      inferenceTimeoutMs: BENCH_INFERENCE_TIMEOUT_MS,
    });
    await sc.start();
    try {
      const n = Number(flags.requests);
      const reqs = world.requests
        .slice(0, n)
        .map((_, i) => parseCheckRequest(JSON.parse(benchBody(world.requests, i)), { region: BENCH_REGION }));
      for (const r of reqs) await sc.engine.check(r); // warm: hot cache, units cache, JIT
      const checkout: number[] = [];
      for (let p = 0; p < PASSES; p++) {
        const c0 = cpuUs();
        for (const r of reqs) await sc.engine.check(r);
        checkout.push((cpuUs() - c0) / reqs.length);
      }
      const service = new BrowseAnswers(sc.engine, { generation: () => 'bench', clock: () => frozenMs });
      const pages = Array.from({ length: Number(flags.pages) }, (_, i) =>
        parseCheckRequest(JSON.parse(benchBody(world.requests, i, PAGE_SKUS)), { region: BENCH_REGION }),
      );
      let c0 = cpuUs();
      let modelDegraded = 0;
      for (const p of pages) if ((await service.check(p)).degradations.includes('model')) modelDegraded++;
      const computedUsPerSku = (cpuUs() - c0) / (pages.length * PAGE_SKUS);
      const kept: number[] = [];
      for (let p = 0; p < PASSES; p++) {
        c0 = cpuUs();
        for (const page of pages) await service.check(page);
        kept.push((cpuUs() - c0) / (pages.length * PAGE_SKUS));
      }
      const checkoutUs = median(checkout);
      const keptUs = median(kept);
      process.stdout.write(
        `${JSON.stringify({
          bench: 'sidecar-cpu',
          date: new Date().toISOString(),
          loadAvg: loadavg(),
          world: { skus: world.skus, nodes: world.nodes, meanNodesPerRequest: world.meanNodesPerRequest },
          checkoutCpuUsPerDecision: checkoutUs,
          browseComputedCpuUsPerSku: computedUsPerSku,
          browseComputedModelDegradedPages: modelDegraded,
          browseKeptCpuUsPerSku: keptUs,
          keptSkuAnswersPerCheckoutDecision: checkoutUs / keptUs,
          computedSkuAnswersPerCheckoutDecision: checkoutUs / computedUsPerSku,
          hotCache: sc.hotCache?.stats ?? null,
        })}\n`,
      );
    } finally {
      await sc.stop();
    }
  } finally {
    await redis.stop();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
