/**
 * Cost of `serve --hold-wait-replicas 1` (issue 16): hot-SKU holds wait for
 * a replica's acknowledgement (Redis WAIT) before they count. A real primary
 * and replica on this box; the same reservation store code with and without
 * the wait, in alternating rounds (so load drift hits both alike), holds
 * one at a time. Prints p50 / p99 per hold and the ratios.
 *
 *   node --import tsx bench/hold-wait.bench.ts [--holds 2000] [--wait-ms 5]
 */
import { parseArgs } from 'node:util';
import { createRedisClient } from '../adapters/src/redis/redis-client.js';
import { RedisReservationStore } from '../sidecar/src/adapters/redis/redis-reservation-store.js';
import { seedRedis } from '../tests/helpers/redis-world.js';
import { startRedisPair } from '../tests/sidecar/holds/redis-pair.js';

const REGION = 'eu-west';
const ROUND = 200;

const { values } = parseArgs({
  options: { holds: { type: 'string', default: '2000' }, 'wait-ms': { type: 'string', default: '5' } },
});
const holds = Number(values.holds);
const waitMs = Number(values['wait-ms']);

const pair = await startRedisPair({ direct: true });
try {
  await seedRedis(pair.url, REGION, [{ sku: 'HOT', node: 'WH-1', units: 10_000_000 }]);
  const client = await createRedisClient(pair.url, 'write');
  const plain = new RedisReservationStore(client, REGION);
  const waiting = new RedisReservationStore(client, REGION, Date.now, undefined, { waitReplicas: 1, waitMs });
  const lat: Record<'plain' | 'wait', number[]> = { plain: [], wait: [] };
  let refused = 0;
  for (let done = 0; done < holds; done += ROUND) {
    for (const [name, store] of [
      ['plain', plain],
      ['wait', waiting],
    ] as const) {
      for (let i = 0; i < ROUND; i++) {
        const t0 = performance.now();
        const out = await store.reserve({
          sku: 'HOT',
          nodeId: 'WH-1',
          qty: 1,
          holdId: `${name}-${done + i}`,
          atpHint: 0,
          nowMs: Date.now(),
          ttlMs: 60_000,
          hot: true,
        });
        lat[name].push(performance.now() - t0);
        if (!out.ok) refused++;
      }
    }
  }
  client.disconnect();
  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)]!;
  const row = (name: 'plain' | 'wait') =>
    `${name}: p50 ${pct(lat[name], 0.5).toFixed(3)} ms, p99 ${pct(lat[name], 0.99).toFixed(3)} ms`;
  console.log(`${holds} holds each, WAIT 1 replica within ${waitMs} ms`);
  console.log(row('plain'));
  console.log(row('wait'));
  console.log(
    `ratio wait/plain: p50 ${(pct(lat.wait, 0.5) / pct(lat.plain, 0.5)).toFixed(2)}x, ` +
      `p99 ${(pct(lat.wait, 0.99) / pct(lat.plain, 0.99)).toFixed(2)}x; refused (no ack in time) ${refused}`,
  );
} finally {
  await pair.stop();
}
