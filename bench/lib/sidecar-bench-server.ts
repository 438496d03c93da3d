/**
 * The server side of bench/sidecar-decision.bench.ts, run as its own process
 * (pinned to one core by the bench): the sidecar's HTTP edge with one of
 *   null   - a handler that answers a fixed decision (same edge: body read,
 *            JSON parse, request validation, headers, JSON answer);
 *   warm   - the full decision (model, policy, in-memory soft reservation)
 *            with features from Redis through a warm hot cache;
 *   redis  - the full decision with every feature read and every soft
 *            reservation going to Redis (hot cache off).
 * Prints one JSON line {"ready":true,"port":N} on stdout.
 *
 *   node --import tsx bench/lib/sidecar-bench-server.ts <kind> <redis-url> <model-dir> <skus>
 */
import type { CheckRequest, CheckResponse } from '../../proto/v1/decision.js';
import { HttpEdge } from '../../sidecar/src/adapters/http/http-server.js';
import { MemoryReservationStore } from '../../sidecar/src/adapters/memory/memory-reservation-store.js';
import { newDecisionId } from '../../sidecar/src/decision/decision-id.js';
import { connectRedisStores } from '../../sidecar/src/redis-wiring.js';
import { createSidecar } from '../../sidecar/src/sidecar.js';

const [kind, redisUrl, modelDir, skuCountRaw] = process.argv.slice(2);
const REGION = 'eu-west';
const SKUS = Number(skuCountRaw ?? 1000);

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
  const warm = kind === 'warm';
  const sc = createSidecar({
    region: REGION,
    featureReader: stores.featureReader,
    nodeDirectory: stores.nodeDirectory,
    reservations: warm ? new MemoryReservationStore() : stores.reservations,
    hotCacheRecords: warm ? 1_000_000 : false,
    modelDir,
    closers: stores.closers,
    defaultMetrics: false,
  });
  const { httpPort } = await sc.start();
  if (sc.models.active === null) throw new Error(`model did not load: ${sc.models.lastError?.message}`);
  if (warm) {
    for (let i = 0; i < SKUS; i++) await sc.engine.check(benchRequest(i));
  }
  process.stdout.write(`${JSON.stringify({ ready: true, port: httpPort, model: sc.engine.modelVersion })}\n`);
}

export function benchRequest(i: number): CheckRequest {
  return {
    requestId: `warm-${i}`,
    region: REGION,
    buyerZone: 'Z1-1',
    channel: 'checkout',
    items: [{ sku: `SKU-${i % SKUS}`, qty: 1 }],
  };
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
