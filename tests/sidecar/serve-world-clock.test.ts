/**
 * `serve --world-clock`: a real sidecar process on a private redis-server
 * runs on a closed-loop world's business time. Node freshness, decision
 * timestamps and soft-hold expiry all follow the world clock, not the wall.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { SOFT_HOLD_TTL_MS } from '../../sidecar/src/decision/policies/reservation-policy.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { seedRedis } from '../helpers/redis-world.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';
import { waitFor } from '../helpers/wait-for.js';

const REGION = 'eu-west';
/** The world's simulated epoch: years before the wall clock, so wall-clock freshness would call it stale. */
const SIM_EPOCH_MS = Date.UTC(2024, 0, 1);

const server = await startRedisServer();
t.teardown(() => server.stop());

/**
 * One decision, asked again (up to 10 times) while it comes back degraded
 * `redis`: the reads and holds have budgets of a few ms that a loaded test
 * machine can miss, and such an answer says nothing about the clock.
 */
async function check(port: number, sku: string, channel: 'checkout' | 'browse', id: string) {
  let j: Record<string, any> = {};
  for (let i = 0; i < 10; i++) {
    j = await checkOnce(port, sku, channel, `${id}-${i}`);
    if (!j.degradations.includes('redis')) break;
  }
  return j;
}

async function checkOnce(port: number, sku: string, channel: 'checkout' | 'browse', id: string) {
  const res = await fetch(`http://127.0.0.1:${port}/v1/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      request_id: id,
      region: REGION,
      buyer_zone: 'Z1-1',
      channel,
      items: [{ sku, qty: 1 }],
    }),
  });
  t.equal(res.status, 200);
  return (await res.json()) as Record<string, any>;
}

function serveArgs(extra: string[]): string[] {
  return [
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
    ...extra,
  ];
}

t.test('freshness and decision timestamps follow the world clock', async (t) => {
  await seedRedis(server.url, REGION, [{ sku: 'FRESH', node: 'ST-1', units: 40 }], SIM_EPOCH_MS);
  const dir = mkdtempSync(join(tmpdir(), 'atp-world-clock-'));
  const log = join(dir, 'decisions.ndjson');
  const spec = `${SIM_EPOCH_MS}@${Date.now()}x1`;
  const world = await startSidecarProcess(
    serveArgs(['--world-clock', spec, '--enforce', 'baseline', '--decision-log', log]),
  );
  t.teardown(() => world.stop());
  const wall = await startSidecarProcess(serveArgs(['--enforce', 'baseline']));
  t.teardown(() => wall.stop());

  const inWorld = await check(world.httpPort, 'FRESH', 'browse', 'w-1');
  t.equal(inWorld.decision, 'allow', JSON.stringify(inWorld));
  t.notOk(inWorld.degradations.includes('stale-node'), 'heartbeats a second old in world time are fresh');
  const onWall = await check(wall.httpPort, 'FRESH', 'browse', 'w-2');
  t.ok(onWall.degradations.includes('stale-node'), 'the same heartbeats are years old on the wall clock');

  await waitFor(
    () => existsSync(log) && readFileSync(log, 'utf8').includes('"w-1-'),
    10_000,
    'the decision-log line',
  );
  const rec = JSON.parse(readFileSync(log, 'utf8').trim().split('\n')[0]!) as { ts: number };
  t.ok(
    rec.ts >= SIM_EPOCH_MS && rec.ts < SIM_EPOCH_MS + 120_000,
    `the decision is stamped in world time (${new Date(rec.ts).toISOString()})`,
  );
});

t.test('a soft hold expires after its TTL in world time (naive side, 100x)', async (t) => {
  const speed = 100;
  await seedRedis(server.url, REGION, [{ sku: 'LAST', node: 'ST-1', units: 1 }], SIM_EPOCH_MS);
  const sc = await startSidecarProcess(
    serveArgs(['--world-clock', `${SIM_EPOCH_MS}@${Date.now()}x${speed}`, '--enforce', 'naive']),
  );
  t.teardown(() => sc.stop());
  const first = await check(sc.httpPort, 'LAST', 'checkout', 'h-1');
  t.equal(first.decision, 'allow', 'the naive side promises the last unit and holds it');
  const second = await check(sc.httpPort, 'LAST', 'checkout', 'h-2');
  t.equal(second.decision, 'deny');
  t.same(second.items[0].reasons, ['RESERVATION_FAILED'], 'the unit is held');
  t.notOk(second.degradations.includes('redis'), 'refused by the store, not lost to a timeout');
  // 120 s of business time pass in 1.2 s of wall time.
  await sleep((SOFT_HOLD_TTL_MS / speed) * 1.5);
  const third = await check(sc.httpPort, 'LAST', 'checkout', 'h-3');
  t.equal(
    third.decision,
    'allow',
    `the hold expired in world time and the unit is free again: ${JSON.stringify(third)}`,
  );
});
