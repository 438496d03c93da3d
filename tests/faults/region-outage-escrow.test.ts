/**
 * Issue 15 item 5, DESIGN.md §6 "region down": a flash sale of a SKU stocked
 * in region X (eu-west) while X goes down. Three regions, each with its own
 * real redis-server (X's keeps an append-only file, so it comes back with
 * its data); real sidecar processes for X and for its neighbour Y
 * (eu-central, `serve --failover-for eu-west`). The test plays the mesh's
 * locality failover: a checkout whose call to X fails is sent to Y.
 *
 * Before the sale the budget service escrows part of X's stock into Y's
 * Redis. After some sales X's sidecar and Redis are killed; X's buyers then
 * get Y's answers, flagged `region-failover`, promised only from the budget
 * (Y's own stock of the same SKU is never touched). X comes back, reconcile
 * applies what Y promised and returns the rest, and X's buyers drain what is
 * left: over the whole sale no more units are promised than X had.
 */
import t from 'tap';
import { connectRedis } from '../../adapters/src/redis/redis-client.js';
import { RedisNodeDirectory } from '../../adapters/src/redis/redis-node-directory.js';
import { runEscrowBudgetJob } from '../../batch/src/escrow/escrow-budget-job.js';
import { EscrowLedger } from '../../batch/src/escrow/escrow-ledger.js';
import { runEscrowReconcileJob } from '../../batch/src/escrow/escrow-reconcile-job.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { heartbeat, seedRedis } from '../helpers/redis-world.js';
import { type SidecarProcess, startSidecarProcess } from '../helpers/sidecar-process.js';

const X = 'eu-west';
const Y = 'eu-central';
const Z = 'us-east';
const SKU = 'FLASH';
const STOCK = 40;
/** Share of X's pool held in Y's budget: 0.4 x 40 = 16 units. */
const SHARE = 0.4;
const BUDGET = 16;
const SOLD_BEFORE = 20;
/** Fewer than the budget: the rest is returned on recovery. */
const BUYERS_DURING = 12;
/** Then one buyer asks for more units than the budget has left. */
const BIG_QTY = 5;
const BUYERS_AFTER = 30;
/** Generous for two tap jobs on a loaded 2-core box; the filter's own budget is 25 ms. */
const DEADLINE_MS = 2_000;

interface Answer {
  status: number;
  body: Record<string, any>;
  via: 'X' | 'Y';
}

const rx = await startRedisServer({ persist: true });
const ry = await startRedisServer();
const rz = await startRedisServer();
t.teardown(async () => {
  await Promise.all([rx.stop(), ry.stop(), rz.stop()]);
});

function args(region: string, url: string, extra: string[] = []): string[] {
  return [
    '--region',
    region,
    '--redis',
    url,
    '--rules-only',
    '--http-port',
    '0',
    '--grpc-port',
    '0',
    ...extra,
  ];
}

async function post(port: number, body: unknown): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-atp-deadline-ms': String(DEADLINE_MS) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

function checkoutBody(region: string, id: string, qty = 1) {
  return { request_id: id, region, buyer_zone: 'Z0-0', channel: 'checkout', items: [{ sku: SKU, qty }] };
}

/** The mesh's locality failover, played by the test: X first; on a failed call, Y. */
async function buyInX(x: SidecarProcess | null, y: SidecarProcess, id: string, qty = 1): Promise<Answer> {
  if (x !== null) {
    const r = await post(x.httpPort, checkoutBody(X, id, qty)).catch(() => null);
    if (r !== null && r.status < 500) return { ...r, via: 'X' };
  }
  return { ...(await post(y.httpPort, checkoutBody(X, id, qty))), via: 'Y' };
}

/** Units promised by the allowed answers. */
const promised = (as: Answer[]) =>
  as
    .filter((a) => a.status === 200 && a.body.decision === 'allow')
    .reduce((n, a) => n + (a.body.items[0].qty as number), 0);
const reasonOf = (a: Answer) => a.body.items[0].reasons[0] as string;

t.test(
  'region X killed mid flash sale: Y answers from escrow, flagged, no oversell; recovery reconciles',
  async (t) => {
    const now = Date.now();
    await seedRedis(rx.url, X, [{ sku: SKU, node: 'WH-1', units: STOCK }], now);
    // Y and Z have stock of their own, of the same SKU too: a failover must never promise it.
    await seedRedis(ry.url, Y, [{ sku: SKU, node: 'WH-1', units: 100 }], now);
    await seedRedis(rz.url, Z, [{ sku: SKU, node: 'WH-1', units: 100 }], now);

    // The budget service: part of X's stock into Y's Redis, ahead of any outage.
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
      { skus: [SKU], share: SHARE },
      (id) => directory.info(id)?.nodeType,
    );
    t.equal(budget.unitsMoved, BUDGET, `Y holds a budget of ${BUDGET} units for X`);

    // One after the other: two tsx start-ups at once on a loaded 2-core box can outlast the helper's bound.
    const syp = await startSidecarProcess(args(Y, ry.url, ['--failover-for', X]));
    t.teardown(() => syp.stop());
    const sx = await startSidecarProcess(args(X, rx.url));
    let xUp: SidecarProcess | null = sx;
    t.teardown(async () => {
      await xUp?.stop();
    });

    // Before: X's buyers are answered by X, until SOLD_BEFORE units are promised.
    await heartbeat(rx.url, X);
    const before: Answer[] = [];
    for (let i = 0; i < 60 && promised(before) < SOLD_BEFORE; i++)
      before.push(await buyInX(xUp, syp, `before-${i}`));
    const promisedX = promised(before);
    t.equal(promisedX, SOLD_BEFORE, `X promised ${SOLD_BEFORE} before the outage`);
    t.ok(before.every((a) => a.via === 'X' && !a.body.degradations.includes('region-failover')));

    // A request for a region Y does not fail over for is still refused, naming the field.
    const wrong = await post(syp.httpPort, checkoutBody(Z, 'wrong-region'));
    t.equal(wrong.status, 421);
    t.equal(wrong.body.error.field, 'region');

    // X goes down: its sidecar and its Redis are killed (SIGKILL, no goodbye).
    xUp.proc.kill('SIGKILL');
    await xUp.stop();
    xUp = null;
    await rx.kill();
    const during: Answer[] = [];
    for (let i = 0; i < BUYERS_DURING; i++) during.push(await buyInX(sx, syp, `during-${i}`));
    const big = await buyInX(sx, syp, 'during-big', BIG_QTY);
    const promisedY = promised(during);
    t.ok(
      [...during, big].every((a) => a.via === 'Y'),
      'every buyer of X was answered by Y',
    );
    t.ok(
      [...during, big].every((a) => a.status === 200 && a.body.degradations.includes('region-failover')),
      'every failover answer is flagged region-failover',
    );
    // A budget script that outlived its 20 ms client bound is a deny flagged redis (its units are given back).
    const timedOut = during.filter((a) => a.body.decision === 'deny');
    t.ok(
      timedOut.every((a) => reasonOf(a) === 'RESERVATION_FAILED' && a.body.degradations.includes('redis')),
      'with budget left, a failover checkout is denied only when the budget store did not answer in time',
    );
    t.ok(promisedY >= BUYERS_DURING / 2, `Y promised ${promisedY} of ${BUYERS_DURING} from its budget`);
    t.equal(
      big.body.decision,
      'deny',
      `${BIG_QTY} units asked with at most ${BUDGET - promisedY} left: denied`,
    );
    if (reasonOf(big) === 'INSUFFICIENT_ATP') {
      t.ok(big.body.items[0].units_p10 <= BUDGET - promisedY, 'the answer says what the budget has left');
    }
    const granted = during.find((a) => a.body.decision === 'allow')!;
    t.equal(granted.body.region, X);
    t.equal(
      granted.body.items[0].options[0].node_id,
      'WH-1',
      "the option names X's node the budget came from",
    );
    t.equal(granted.body.model_version, 'escrow');
    t.equal(granted.body.p_fulfill_kind, 'stock-only');
    t.equal(
      await yClient.hget(`atp:${Y}:{${SKU}}:p`, 'WH-1'),
      null,
      "Y's own stock of the SKU was never promised",
    );
    const metrics = await (await fetch(`http://127.0.0.1:${syp.httpPort}/metrics`)).text();
    t.match(metrics, `atp_failover_decisions_total{origin="eu-west",decision="allow"} ${promisedY}`);
    t.match(metrics, `atp_degradations_total{degradation="region-failover"} ${BUYERS_DURING + 1}`);
    t.match(metrics, /atp_escrow_budget_units\{origin="eu-west"\} \d+/);

    // X recovers: Redis back with its data (AOF), its sidecar restarted; then reconcile.
    await rx.restart();
    xClient.disconnect();
    const xBack = await connectRedis(rx.url, 'write');
    t.teardown(() => xBack.disconnect());
    t.equal(
      Number(await xBack.hget(`atp:${X}:{${SKU}}:e`, 'WH-1')),
      BUDGET,
      "X's Redis came back with its escrow record",
    );
    const rec = await runEscrowReconcileJob(new EscrowLedger(X, xBack, Y, yClient), Date.now());
    t.ok(
      rec.usedUnits >= promisedY,
      `reconcile applied what Y used (${rec.usedUnits} >= ${promisedY} promised)`,
    );
    t.equal(rec.usedUnits + rec.returnedUnits, BUDGET, 'and returned the unused rest of the budget');
    t.equal(await xBack.hget(`atp:${X}:{${SKU}}:e`, 'WH-1'), null, 'nothing escrowed out of X any more');
    await heartbeat(rx.url, X);
    xUp = await startSidecarProcess(args(X, rx.url));
    const after: Answer[] = [];
    for (let i = 0; i < BUYERS_AFTER; i++) after.push(await buyInX(xUp, syp, `after-${i}`));
    const promisedAfter = promised(after);
    t.ok(
      after.every((a) => a.via === 'X'),
      'back home: X answers its buyers again',
    );
    t.equal(
      promisedAfter,
      STOCK - promisedX - rec.usedUnits,
      'X promised exactly what was left of its stock',
    );

    const total = promisedX + promisedY + promisedAfter;
    t.comment(
      `stock ${STOCK} in X; escrowed to Y ${budget.unitsMoved}; promised in X before the outage ${promisedX}; ` +
        `in Y during it ${promisedY} (${BUYERS_DURING + 1} buyers, all flagged region-failover, ${timedOut.length} budget timeouts); ` +
        `reconcile: used ${rec.usedUnits}, returned ${rec.returnedUnits}; promised in X after recovery ${promisedAfter}; ` +
        `total promised ${total}`,
    );
    t.ok(total <= STOCK, `total promised across regions ${total} <= stock ${STOCK}`);
  },
);
