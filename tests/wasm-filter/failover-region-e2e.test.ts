/**
 * End to end (issue 15): region Y's data plane — the compiled filter with
 * `failover_for: [X]` in the local data plane, in front of a real Y sidecar
 * process (`serve --failover-for X`, real redis-server) and an echoing
 * checkout service. A checkout stamped `x-atp-origin-region: X` (what X's
 * mesh sets before failing it over to Y) is answered from the budget X
 * escrowed in Y, never from Y's own stock of the same SKU; Y's own buyers and
 * forged origins are answered as Y's; the header never reaches the service.
 */
import t from 'tap';
import { connectRedis } from '../../adapters/src/redis/redis-client.js';
import { RedisNodeDirectory } from '../../adapters/src/redis/redis-node-directory.js';
import { runEscrowBudgetJob } from '../../batch/src/escrow/escrow-budget-job.js';
import { EscrowLedger } from '../../batch/src/escrow/escrow-ledger.js';
import { createLocalDataPlane } from '../../wasm-filter/emulator/index.js';
import { OUT_PATH } from '../../wasm-filter/scripts/build.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { heartbeat, seedRedis } from '../helpers/redis-world.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';
import { startEchoUpstream } from './helpers/echo-upstream.js';
import { BASE_CONFIG, filterModule } from './helpers/filter-harness.js';

const X = 'eu-west';
const Y = 'eu-central';
const SKU = 'FLASH';
/** 0.4 x 40 units of X escrowed into Y. */
const BUDGET = 16;
/** Generous for a loaded 2-core box: this test is about which region answers, not latency. */
const SIDECAR_TIMEOUT_MS = 2000;
const ORIGIN = 'x-atp-origin-region';

t.test("a checkout failed over from X is answered from X's escrow in Y, through Y's filter", async (t) => {
  // X's and Y's Redis: both stock the SKU; the budget job escrows part of X's into Y.
  const rx = await startRedisServer();
  const ry = await startRedisServer();
  t.teardown(async () => {
    await Promise.all([rx.stop(), ry.stop()]);
  });
  const now = Date.now();
  await seedRedis(rx.url, X, [{ sku: SKU, node: 'WH-1', units: 40 }], now);
  await seedRedis(ry.url, Y, [{ sku: SKU, node: 'WH-1', units: 100 }], now);
  const xClient = await connectRedis(rx.url, 'write');
  const yClient = await connectRedis(ry.url, 'write');
  t.teardown(() => {
    xClient.disconnect();
    yClient.disconnect();
  });
  const directory = new RedisNodeDirectory(xClient, X);
  await directory.refresh();
  const budget = await runEscrowBudgetJob(
    new EscrowLedger(X, xClient, Y, yClient),
    { skus: [SKU], share: 0.4 },
    (id) => directory.info(id)?.nodeType,
  );
  t.equal(budget.unitsMoved, BUDGET);

  // Y's sidecar (fails over for X) behind Y's data plane (failover_for: [X]).
  await heartbeat(ry.url, Y);
  const sidecar = await startSidecarProcess([
    ...['--region', Y, '--redis', ry.url, '--rules-only', '--http-port', '0', '--grpc-port', '0'],
    ...['--failover-for', X],
  ]);
  t.teardown(() => sidecar.stop());
  await filterModule(); // builds the .wasm when missing or stale
  const upstream = await startEchoUpstream();
  const plane = createLocalDataPlane({
    port: 0,
    wasmPath: OUT_PATH,
    pluginConfig: { ...BASE_CONFIG, region: Y, failover_for: [X], timeout_ms: SIDECAR_TIMEOUT_MS },
    upstream: { host: '127.0.0.1', port: upstream.port },
    clusters: { 'atp-sidecar': { host: '127.0.0.1', port: sidecar.httpPort } },
    logLevel: 'warn',
  });
  const { port } = await plane.start();
  t.teardown(async () => {
    await plane.stop();
    await upstream.close();
  });
  const checkout = async (id: string, qty: number, origin?: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/checkout`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': id,
        ...(origin === undefined ? {} : { [ORIGIN]: origin }),
      },
      body: JSON.stringify({ items: [{ sku: SKU, qty }], buyer_zone: 'Z0-0' }),
    });
    await res.arrayBuffer();
    return res.status;
  };
  const failoverCount = async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${sidecar.httpPort}/metrics`)).text();
    return [...metrics.matchAll(/^atp_failover_decisions_total\{origin="eu-west",[^}]*\} (\d+)$/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
  };

  // X's buyer, failed over: the sidecar answers as X from the budget (flagged), Y's own stock untouched.
  // (A budget script that outlives the sidecar's 20 ms Redis bound on a loaded box is a deny: retried.)
  let attempts = 0;
  let status = 0;
  while (status !== 201 && attempts < 3) status = await checkout(`x-${++attempts}`, 1, X);
  t.equal(status, 201, `X's buyer is allowed (attempts: ${attempts})`);
  t.match(upstream.seen[0]?.['x-atp-degraded'], /region-failover/, 'answered as a failover');
  t.equal(upstream.seen[0]?.[ORIGIN], undefined, 'the origin header never reaches the service');
  t.equal(await failoverCount(), attempts, 'every attempt was a failover decision');
  t.equal(await yClient.hget(`atp:${Y}:{${SKU}}:p`, 'WH-1'), null, "Y's own stock was not promised");

  // More than the budget has left is denied — though Y itself has 100 units of the SKU.
  t.equal(await checkout('x-big', BUDGET, X), 409, `${BUDGET} more units than X's budget: denied`);
  t.equal(await failoverCount(), attempts + 1);

  // Y's own buyer with the same basket, and a forged origin (a region Y does not answer for): Y's stock.
  t.equal(await checkout('y-1', BUDGET), 201, "Y's buyer is answered from Y's stock");
  t.notMatch(upstream.seen[1]?.['x-atp-degraded'] ?? '', /region-failover/);
  t.equal(await checkout('forged-1', 1, 'us-east'), 201, 'a forged origin is answered as Y');
  t.notMatch(upstream.seen[2]?.['x-atp-degraded'] ?? '', /region-failover/);
  t.equal(upstream.seen[2]?.[ORIGIN], undefined);
  t.equal(await failoverCount(), attempts + 1, 'neither reached the escrow');
  t.comment(`upstream saw: ${JSON.stringify(upstream.seen)}`);
});
