/**
 * The server side of bench/sidecar-decision.bench.ts, run as its own process
 * (pinned to one core by the bench): the sidecar's HTTP edge with one of
 *   null   - a handler that answers a fixed decision (same edge: body read,
 *            JSON parse, request validation, headers, JSON answer);
 *   warm   - the full decision (model, policy, in-memory soft reservation)
 *            with features from Redis through a warm hot cache;
 *   redis  - the full decision with every feature read and every soft
 *            reservation going to Redis (hot cache off);
 *   browse - the warm server, loaded with product-page batches.
 * Prints one JSON line {"ready":true,"port":N} on stdout, and on SIGTERM one
 * line {"hotCache":{...}} with the hot cache's hit/miss counters.
 *
 *   node --import tsx bench/lib/sidecar-bench-server.ts <kind> <redis-url> <model-dir> <skus|requests.json>
 */
import { readFileSync } from 'node:fs';
import type { CheckRequest, CheckResponse } from '../../proto/v1/decision.js';
import { HttpEdge } from '../../sidecar/src/adapters/http/http-server.js';
import { MemoryReservationStore } from '../../sidecar/src/adapters/memory/memory-reservation-store.js';
import { newDecisionId } from '../../sidecar/src/decision/decision-id.js';
import { connectRedisStores } from '../../sidecar/src/redis-wiring.js';
import { createSidecar } from '../../sidecar/src/sidecar.js';
import type { BenchRequestLine } from './sidecar-bench-world.js';

const [kind, redisUrl, modelDir, skuCountRaw] = process.argv.slice(2);
const REGION = 'eu-west';
const requests: BenchRequestLine[] =
  skuCountRaw !== undefined && Number.isNaN(Number(skuCountRaw))
    ? (JSON.parse(readFileSync(skuCountRaw, 'utf8')) as BenchRequestLine[])
    : Array.from({ length: Number(skuCountRaw ?? 1000) }, (_, i) => ({ sku: `SKU-${i}`, zone: 'Z1-1' }));

async function main(): Promise<void> {
  if (kind === 'null') {
    const service = {
      async check(req: CheckRequest): Promise<CheckResponse> {
        return {
          decisionId: newDecisionId(Date.now()),
          requestId: req.requestId,
          region: req.region,
          channel: req.channel,
          decision: 'allow',
          mode: 'enforce',
          modelVersion: 'null',
          rulesVersion: 'null',
          degradations: [],
          items: req.items.map((it) => ({
            sku: it.sku,
            qty: it.qty,
            available: true,
            pFulfill: 0.95,
            unitsP10: 10,
            oversellRisk: 0.05,
            reasons: ['ATP_OK'],
            options: [
              {
                nodeId: 'WH-1',
                nodeType: 'warehouse',
                etaHours: 30,
                cost: 5,
                score: 0.5,
                pFulfill: 0.95,
                reasons: ['ATP_OK'],
              },
            ],
          })),
        };
      },
    };
    const edge = new HttpEdge({ service, region: REGION, isReady: () => true, filterSnapshot: () => ({}) });
    const port = await edge.start();
    process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);
    return;
  }
  const stores = await connectRedisStores(redisUrl!, REGION);
  const warm = kind === 'warm' || kind === 'browse';
  // Warm means every feature read is a hot-cache hit: the warm servers' business clock stands still at
  // start, so the product's TTLs (half a node type's freshness SLO: 2.5 s for warehouses) cannot expire
  // the warmed world while the bench runs. Holds and the hot-SKU sketch see that clock too.
  const frozenMs = Date.now();
  const sc = createSidecar({
    region: REGION,
    featureReader: stores.featureReader,
    nodeDirectory: stores.nodeDirectory,
    reservations: warm ? new MemoryReservationStore() : stores.reservations,
    hotCacheRecords: warm ? 1_000_000 : false,
    ...(warm ? { clock: () => frozenMs } : {}),
    modelDir,
    closers: stores.closers,
    defaultMetrics: false,
  });
  const { httpPort } = await sc.start();
  if (sc.models.active === null) throw new Error(`model did not load: ${sc.models.lastError?.message}`);
  if (warm) {
    // Every distinct (sku, zone) once: the cache holds the world's requested SKUs, the JIT is warm.
    const seen = new Set<string>();
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!;
      const key = `${r.sku}/${r.zone}`;
      if (seen.has(key)) continue;
      seen.add(key);
      await sc.engine.check(benchRequest(i));
    }
  }
  process.once('SIGTERM', () => {
    process.stdout.write(`${JSON.stringify({ hotCache: sc.hotCache?.stats ?? null })}\n`);
    process.exit(0);
  });
  process.stdout.write(`${JSON.stringify({ ready: true, port: httpPort, model: sc.engine.modelVersion })}\n`);
}

export function benchRequest(i: number): CheckRequest {
  return {
    requestId: `warm-${i}`,
    region: REGION,
    buyerZone: requests[i % requests.length]!.zone,
    channel: 'checkout',
    items: [{ sku: requests[i % requests.length]!.sku, qty: 1 }],
  };
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
