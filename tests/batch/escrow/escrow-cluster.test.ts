/**
 * The escrow scripts on a real Redis Cluster: every script touches keys of
 * one SKU's {hash tag} only, so budget moves, failover takes and reconcile
 * run there as on one server (no CROSSSLOT), origin and holder regions
 * sharing the cluster's slots by key prefix.
 */
import t from 'tap';
import { connectRedis } from '../../../adapters/src/redis/redis-client.js';
import { runEscrowBudgetJob } from '../../../batch/src/escrow/escrow-budget-job.js';
import { EscrowLedger } from '../../../batch/src/escrow/escrow-ledger.js';
import { runEscrowReconcileJob } from '../../../batch/src/escrow/escrow-reconcile-job.js';
import { RedisEscrowBudgets } from '../../../sidecar/src/escrow/redis-escrow-budgets.js';
import { startRedisCluster } from '../../helpers/redis-cluster.js';
import { seedRedis } from '../../helpers/redis-world.js';

const cluster = await startRedisCluster();
t.teardown(() => cluster.stop());
const client = await connectRedis(cluster.url, 'write');
t.teardown(() => client.disconnect());

t.test('budget, failover takes and reconcile on a cluster', async (t) => {
  const skus = ['C-1', 'C-2', 'C-3', 'C-4'];
  await seedRedis(
    cluster.url,
    'eu-west',
    skus.map((sku) => ({ sku, node: 'WH-1', units: 10 })),
  );
  const ledger = new EscrowLedger('eu-west', client, 'eu-central', client);
  const r = await runEscrowBudgetJob(ledger, { skus, share: 0.5 }, () => 'warehouse');
  t.equal(r.unitsMoved, 20, 'half of each SKU moved');
  const budgets = new RedisEscrowBudgets(client, 'eu-central');
  let granted = 0;
  for (const sku of skus) {
    for (let i = 0; i < 7; i++) if ((await budgets.take('eu-west', sku, 1, `${sku}-${i}`)).granted) granted++;
  }
  t.equal(granted, 20, 'each budget of 5 granted 5 of 7');
  const rec = await runEscrowReconcileJob(ledger, Date.now());
  t.equal(rec.usedUnits, 20);
  t.equal(rec.returnedUnits, 0);
  t.same(await ledger.pendingMoves(), []);
});
