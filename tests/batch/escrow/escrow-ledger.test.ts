/**
 * The escrow moves against two real redis-servers (origin X, holder Y):
 * the budget job tops a budget up to its share, the origin's hold script
 * never promises escrowed units, the holder's take script never grants more
 * than the budget (concurrently, once per decision), reconcile applies what
 * the holder promised and returns the rest, and a run that dies between two
 * steps is finished by the next without promising a unit twice.
 */

import t from 'tap';
import {
  connectRedis,
  createRedisClient,
  type RedisClient,
} from '../../../adapters/src/redis/redis-client.js';
import { newMoveId, runEscrowBudgetJob } from '../../../batch/src/escrow/escrow-budget-job.js';
import { EscrowLedger } from '../../../batch/src/escrow/escrow-ledger.js';
import { runEscrowReconcileJob } from '../../../batch/src/escrow/escrow-reconcile-job.js';
import { RedisReservationStore } from '../../../sidecar/src/adapters/redis/redis-reservation-store.js';
import { RedisEscrowBudgets } from '../../../sidecar/src/escrow/redis-escrow-budgets.js';
import { startRedisServer } from '../../helpers/redis-server.js';
import { seedRedis } from '../../helpers/redis-world.js';

const X = 'eu-west';
const Y = 'eu-central';
const typeOf = (id: string) => (id === 'WH-1' || id === 'ST-1' ? 'warehouse' : undefined);

const rx = await startRedisServer();
const ry = await startRedisServer();
t.teardown(async () => {
  await rx.stop();
  await ry.stop();
});
const x = await createRedisClient(rx.url, 'write');
const y: RedisClient = await connectRedis(ry.url, 'write');
t.teardown(() => {
  x.disconnect();
  y.disconnect();
});
const ledger = new EscrowLedger(X, x, Y, y);
const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

t.test(
  'the budget job tops the budget up to its share of the pool, once, and the origin never promises it',
  async (t) => {
    await seedRedis(rx.url, X, [{ sku: 'A', node: 'WH-1', units: 100 }]);
    const first = await runEscrowBudgetJob(ledger, { skus: ['A'], share: 0.2 }, typeOf);
    t.equal(first.unitsMoved, 20, '20 of 100 units moved');
    t.same(first.budget, { A: 20 });
    const again = await runEscrowBudgetJob(ledger, { skus: ['A'], share: 0.2 }, typeOf);
    t.equal(again.unitsMoved, 0, 'a second run finds the budget at its share');
    t.equal(sum(await ledger.escrowedOut('A')), 20, 'X counts 20 escrowed out');

    const holds = new RedisReservationStore(x, X);
    let granted = 0;
    for (let i = 0; i < 100; i++) {
      const r = await holds.reserve({
        sku: 'A',
        nodeId: 'WH-1',
        qty: 1,
        holdId: `h${i}`,
        atpHint: 1000,
        nowMs: Date.now(),
        ttlMs: 60_000,
      });
      if (r.ok) granted++;
    }
    t.equal(granted, 80, "X's own hold script promises 80: the escrowed 20 are not its to promise");
    // Release them so the rest of the file starts from the escrow alone.
    for (let i = 0; i < 100; i++) await holds.release('A', `h${i}`);
  },
);

t.test('the holder grants at most its budget, concurrently, once per decision', async (t) => {
  const budgets = new RedisEscrowBudgets(y, Y);
  const takes = await Promise.all(Array.from({ length: 30 }, (_, i) => budgets.take(X, 'A', 1, `d${i}`)));
  t.equal(takes.filter((r) => r.granted).length, 20, '30 concurrent checkouts, 20 granted: the budget');
  t.equal(takes.find((r) => r.granted)?.nodeId, 'WH-1');
  t.equal(takes.find((r) => r.granted)?.nodeType, 'warehouse');
  const repeat = await budgets.take(X, 'A', 1, 'd0');
  t.ok(repeat.granted, 'a repeated decision id reports its grant');
  t.equal(repeat.leftUnits, 0, '... without taking again');
  t.ok(await budgets.giveBack(X, 'A', 'd0'), 'a give-back puts the units back');
  t.notOk(await budgets.giveBack(X, 'A', 'd0'), 'once');
  t.equal((await budgets.peek(X, 'A', 1)).leftUnits, 1);
  t.notOk((await budgets.peek(X, 'A', 2)).granted, 'peek says 2 units are not there, and takes nothing');
});

t.test('reconcile applies what the holder promised, returns the rest, once', async (t) => {
  const r = await runEscrowReconcileJob(ledger, Date.now(), 'r-1');
  t.equal(r.usedUnits, 19, 'the 19 units the holder promised');
  t.equal(r.returnedUnits, 1, 'the unused unit returned');
  t.equal(sum(await ledger.escrowedOut('A')), 0, 'nothing escrowed out any more');
  t.equal(sum(await ledger.budgetLeft('A')), 0, 'the budget is empty');
  t.equal(Number(await x.hget(`atp:${X}:{A}:p`, 'WH-1')), 19, "X holds the holder's 19 as promised units");
  const holds = new RedisReservationStore(x, X);
  let granted = 0;
  for (let i = 0; i < 100; i++) {
    const g = await holds.reserve({
      sku: 'A',
      nodeId: 'WH-1',
      qty: 1,
      holdId: `k${i}`,
      atpHint: 1000,
      nowMs: Date.now(),
      ttlMs: 60_000,
    });
    if (g.ok) granted++;
  }
  t.equal(granted, 81, 'X may promise 100 - 19 = 81 again');
  for (let i = 0; i < 100; i++) await holds.release('A', `k${i}`);
  const again = await runEscrowReconcileJob(ledger, Date.now(), 'r-1');
  t.equal(again.applied, 0, 'the same reconcile again applies nothing');
  t.equal(again.usedUnits + again.returnedUnits, 0);
  t.equal(Number(await x.hget(`atp:${X}:{A}:p`, 'WH-1')), 19);
});

t.test('a budget run that died after the origin step is finished by the next, not doubled', async (t) => {
  await seedRedis(rx.url, X, [{ sku: 'B', node: 'WH-1', units: 50 }]);
  // Step 1 only: X counts the move, Y has not seen it.
  const moved = await ledger.escrowOut('B', 'WH-1', 'm-crash', 0, 0.2, 'warehouse');
  t.equal(moved, 10);
  t.equal(sum(await ledger.budgetLeft('B')), 0, 'in between, Y has no budget: nobody promises the 10');
  t.equal(sum(await ledger.escrowedOut('B')), 10, '... and X does not either');
  t.equal(await ledger.escrowOut('B', 'WH-1', 'm-crash', 0, 0.2, 'warehouse'), -1, 'a move id is used once');
  const r = await runEscrowBudgetJob(ledger, { skus: ['B'], share: 0.2 }, typeOf);
  t.equal(r.resumed, 1, 'the next run lands the pending move');
  t.equal(r.unitsMoved, 0, '... and moves nothing more (the budget is at its share)');
  t.equal(sum(await ledger.budgetLeft('B')), 10);
  t.equal(sum(await ledger.escrowedOut('B')), 10, 'escrowed out = budget');

  // Died after landing, before settling: the next run finds the move landed already.
  const id = newMoveId();
  t.equal(
    await ledger.escrowOut('B', 'WH-1', id, 10, 0.4, 'warehouse'),
    10,
    'share raised: 0.4 x (40 free + 10 left) - 10 = 10 more',
  );
  await ledger.land({ sku: 'B', moveId: id, holder: Y, nodeId: 'WH-1', qty: 10, nodeType: 'warehouse' });
  const r2 = await runEscrowBudgetJob(ledger, { skus: ['B'], share: 0.4 }, typeOf);
  t.equal(r2.resumed, 1);
  t.equal(r2.unitsMoved, 0);
  t.equal(sum(await ledger.budgetLeft('B')), 20, 'landed once: 20, not 30');
  t.equal(sum(await ledger.escrowedOut('B')), 20);
  t.same(await ledger.pendingMoves(), [], 'nothing pending');
});

t.test('a reconcile that died after draining is applied by the next run, once', async (t) => {
  const budgets = new RedisEscrowBudgets(y, Y);
  for (let i = 0; i < 4; i++) t.ok((await budgets.take(X, 'B', 1, `b${i}`)).granted);
  // Step 1 only: Y's budget is drained into a record; X has not applied it.
  await ledger.drain('B', 'r-crash');
  t.notOk((await budgets.take(X, 'B', 1, 'late')).granted, 'a drained budget grants nothing');
  t.equal(
    sum(await ledger.escrowedOut('B')),
    20,
    'in between, X still counts the units out: nobody promises them',
  );
  const r = await runEscrowReconcileJob(ledger, Date.now(), 'r-next');
  t.equal(r.applied, 1, "the crashed run's record is applied (this run's own drain of B was empty)");
  t.equal(r.usedUnits, 4);
  t.equal(r.returnedUnits, 16);
  t.equal(sum(await ledger.escrowedOut('B')), 0);
  t.equal(Number(await x.hget(`atp:${X}:{B}:p`, 'WH-1')), 4);
  t.same(await ledger.drainRecords('B'), new Map(), 'no record left at the holder');
});

t.test('reconcile drains nothing while the origin is down', async (t) => {
  await runEscrowBudgetJob(ledger, { skus: ['B'], share: 0.2 }, typeOf);
  const before = sum(await ledger.budgetLeft('B'));
  t.ok(before > 0);
  await rx.kill();
  const down = new EscrowLedger(X, await connectRedis(rx.url, 'write').catch(() => x), Y, y);
  await t.rejects(
    runEscrowReconcileJob(down, Date.now()),
    { code: 'ATP_ERR_BATCH_ESCROW_UNREACHABLE', field: '--origin-redis' },
    'refused: the origin does not answer',
  );
  t.equal(sum(await ledger.budgetLeft('B')), before, 'the holder keeps its budget to serve from');
});
