/**
 * Acceptance: a flash sale. Four real sidecar processes share one private
 * redis-server holding 100 units of one SKU; 10,000 concurrent checkout
 * decisions (qty 1) are spread over them. The soft reservation script must
 * promise at most 100 units in total, and at least 95 (holds lost to
 * timeouts are released and re-sold).
 */
import { Agent, request } from 'node:http';
import t from 'tap';
import { createRedisClient } from '../../adapters/src/redis/redis-client.js';
import { promisedKey } from '../../adapters/src/redis/redis-keys.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { seedRedis } from '../helpers/redis-world.js';
import { type SidecarProcess, startSidecarProcesses } from '../helpers/sidecar-process.js';

const SIDECARS = 4;
const DECISIONS = 10_000;
const UNITS = 100;
const REGION = 'eu-west';
/** Sockets per sidecar: every decision is in flight at once, over a bounded pool. */
const SOCKETS_PER_SIDECAR = 64;

const server = await startRedisServer();
t.teardown(() => server.stop());

function post(
  agent: Agent,
  port: number,
  body: string,
): Promise<{ status: number; json: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path: '/v1/check',
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-atp-deadline-ms': '5000',
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, any> }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

t.test(`flash sale: ${SIDECARS} sidecars, ${DECISIONS} concurrent checkouts, ${UNITS} units`, async (t) => {
  await seedRedis(server.url, REGION, [{ sku: 'FLASH', node: 'WH-1', units: UNITS }]);
  const sidecars: SidecarProcess[] = await startSidecarProcesses(
    Array.from({ length: SIDECARS }, () => [
      '--region',
      REGION,
      '--redis',
      server.url,
      '--http-port',
      '0',
      '--grpc-port',
      '0',
      '--log-level',
      'info',
      // The reservation path under load is what this test measures: the rule scorer, as before the
      // trained bundle became serve's default.
      '--rules-only',
    ]),
  );
  t.teardown(() => Promise.all(sidecars.map((s) => s.stop())));
  const agents = sidecars.map(() => new Agent({ keepAlive: true, maxSockets: SOCKETS_PER_SIDECAR }));
  t.teardown(() => {
    for (const a of agents) a.destroy();
  });

  const results = await Promise.all(
    Array.from({ length: DECISIONS }, (_, i) => {
      const k = i % SIDECARS;
      const body = JSON.stringify({
        request_id: `flash-${i}`,
        buyer_zone: 'Z0-0',
        channel: 'checkout',
        items: [{ sku: 'FLASH', qty: 1 }],
      });
      return post(agents[k]!, sidecars[k]!.httpPort, body).catch((e: Error) => ({
        status: 0,
        json: { error: e.message } as Record<string, any>,
      }));
    }),
  );
  const promised = results.filter((r) => r.status === 200 && r.json.decision === 'allow').length;
  const errors = results.filter((r) => r.status !== 200).length;
  const reasons = new Map<string, number>();
  for (const r of results) {
    const key =
      r.status === 200
        ? `${r.json.items[0].reasons.join('+')}${r.json.degradations.length ? ` [${r.json.degradations}]` : ''}`
        : `HTTP ${r.status} ${r.json.error?.code ?? r.json.error}`;
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  t.comment(`answers: ${JSON.stringify(Object.fromEntries(reasons))}`);
  const redis = await createRedisClient(server.url, 'write');
  const held = Number((await redis.hget(promisedKey(REGION, 'FLASH'), 'WH-1')) ?? 0);
  redis.disconnect();
  t.comment(
    `flash sale: ${promised} units promised to buyers (at most ${UNITS}, at least 95); ${held} held in Redis; ${errors} non-200 answers`,
  );
  t.ok(promised <= UNITS, `${promised} <= ${UNITS}: never oversold`);
  t.ok(promised >= 95, `${promised} >= 95: the stock was sold`);
  t.ok(held >= promised, 'every promise is backed by a hold');
  t.equal(errors, 0, 'every decision answered');
});
