/**
 * Batch node features: the sidecar reports the set version it serves
 * (/readyz, atp_batch_features_info) and flags answers a model makes with a
 * set older than its bound `batch-stale`. The committed trained bundle,
 * real onnxruntime-node.
 */
import { join } from 'node:path';
import t from 'tap';
import type { NodeBatchFeatures } from '../../features/src/node-profile.js';
import { BATCH_FEATURES_MAX_AGE_MS } from '../../sidecar/src/decision/policies/batch-freshness.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { checkout, WORLD_NOW, worldSidecar } from '../helpers/sidecar-world.js';

const HOUR_MS = 3_600_000;
const NO_NODES = new Map<string, NodeBatchFeatures>();

t.test('a fresh set is reported and unflagged; a set past its bound flags model answers', async (t) => {
  const sc = worldSidecar();
  await sc.models.loadAndActivate(join(REPO_ROOT, 'models'));
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());

  sc.directory.loadBatch('batch-fresh', NO_NODES, WORLD_NOW - HOUR_MS);
  const fresh = await sc.engine.check(checkout('IN-STOCK', 1, 'b-1'));
  t.notOk(fresh.degradations.includes('batch-stale'), 'an hour old: fresh');
  const ready = (await (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).json()) as Record<
    string,
    unknown
  >;
  t.equal(ready.status, 'ready');
  t.equal(ready.batch_version, 'batch-fresh', '/readyz names the set read');
  t.equal(ready.batch_computed_at_ms, WORLD_NOW - HOUR_MS);
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  t.match(metrics, /atp_batch_features_info\{version="batch-fresh"\} 1/);
  t.match(metrics, /atp_batch_features_age_seconds 3600\b/);

  sc.directory.loadBatch('batch-old', NO_NODES, WORLD_NOW - BATCH_FEATURES_MAX_AGE_MS - 1);
  const old = await sc.engine.check(checkout('IN-STOCK', 1, 'b-2'));
  t.ok(old.degradations.includes('batch-stale'), 'one ms past the bound: stale');
  t.notMatch(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text(), /version="batch-fresh"/);
});

t.test(
  'the bound is configurable; the rule scorer, which reads no batch features, is not flagged',
  async (t) => {
    const tight = worldSidecar({ batchMaxAgeMs: HOUR_MS / 2 });
    await tight.models.loadAndActivate(join(REPO_ROOT, 'models'));
    t.teardown(() => tight.models.stop());
    tight.directory.loadBatch('batch-1h', NO_NODES, WORLD_NOW - HOUR_MS);
    t.ok((await tight.engine.check(checkout('IN-STOCK'))).degradations.includes('batch-stale'));

    const rules = worldSidecar();
    rules.directory.loadBatch('batch-old', NO_NODES, WORLD_NOW - 10 * BATCH_FEATURES_MAX_AGE_MS);
    t.notOk((await rules.engine.check(checkout('IN-STOCK'))).degradations.includes('batch-stale'));
  },
);
