/**
 * `serve --redis` reads the stream lag the ingester writes (its lag records
 * in the regional Redis, written here through the ingester's own store,
 * RedisIngestStateStore): lag beyond the freshness SLO shows as the
 * `stream-lag` degradation in answers, and goes away when the ingester
 * reports it caught up. Real redis-server, real sidecar process.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { connectRedis } from '../../adapters/src/redis/redis-client.js';
import { RedisIngestStateStore } from '../../adapters/src/redis/redis-stream-health.js';
import { FRESHNESS_SLO_MS } from '../../features/src/freshness.js';
import { LAG_REPORT_INTERVAL_MS, type LagReport } from '../../proto/v1/stream-lag.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { seedRedis } from '../helpers/redis-world.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';

const REGION = 'eu-west';
const PARTITIONS = 4;

const server = await startRedisServer();
t.teardown(() => server.stop());

function report(partition: number, lagMs: number): LagReport {
  return {
    partition,
    offsetLag: lagMs > 0 ? 500 : 0,
    lagMs,
    eventAgeMs: 100,
    committedOffset: '10',
    highWatermark: lagMs > 0 ? '510' : '10',
    updatedAtMs: Date.now(),
    owner: 'ingester-test',
  };
}

async function degradations(port: number, id: string): Promise<string[]> {
  // A loaded machine can miss the read budget (degraded `redis`): ask again, that answer says nothing of lag.
  for (let i = 0; ; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        request_id: `${id}-${i}`,
        buyer_zone: 'Z1-1',
        channel: 'browse',
        items: [{ sku: 'LAGGY', qty: 1 }],
      }),
    });
    const j = (await res.json()) as { degradations: string[] };
    if (!j.degradations.includes('redis') || i >= 9) return j.degradations;
  }
}

t.test('the lag the ingester writes drives the stream-lag degradation', async (t) => {
  await seedRedis(server.url, REGION, [{ sku: 'LAGGY', node: 'WH-1', units: 30 }]);
  const client = await connectRedis(server.url, 'write');
  t.teardown(() => client.disconnect());
  const ingest = new RedisIngestStateStore(client, REGION);
  const meta = { topic: `inventory.events.${REGION}`, partitionCount: PARTITIONS, updatedAtMs: Date.now() };
  // A live ingester rewrites its reports every LAG_REPORT_INTERVAL_MS (a silent one's reports age into lag).
  let lagMs = 0;
  const publish = () =>
    ingest.writeLag(
      { ...meta, updatedAtMs: Date.now() },
      Array.from({ length: PARTITIONS }, (_, p) => report(p, lagMs)),
    );
  await publish();
  const ingester = setInterval(() => void publish().catch(() => undefined), LAG_REPORT_INTERVAL_MS);
  t.teardown(() => clearInterval(ingester));

  const sc = await startSidecarProcess([
    '--region',
    REGION,
    '--redis',
    server.url,
    '--http-port',
    '0',
    '--grpc-port',
    '0',
    '--rules-only',
    '--log-level',
    'info',
  ]);
  t.teardown(() => sc.stop());
  t.notOk((await degradations(sc.httpPort, 'before')).includes('stream-lag'), 'caught up: no lag');

  // Every partition lags a minute behind: far beyond the warehouse SLO.
  lagMs = 60_000;
  t.ok(lagMs > FRESHNESS_SLO_MS.warehouse);
  await publish();
  await sleep(LAG_REPORT_INTERVAL_MS * 2.5);
  t.ok((await degradations(sc.httpPort, 'lagging')).includes('stream-lag'), 'the reported lag is read');

  lagMs = 0;
  await publish();
  await sleep(LAG_REPORT_INTERVAL_MS * 2.5);
  t.notOk((await degradations(sc.httpPort, 'after')).includes('stream-lag'), 'caught up again');
});
