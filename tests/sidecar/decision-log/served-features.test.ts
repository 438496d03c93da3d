/**
 * The served feature vectors of the decision explorer (issue 19): with the
 * recent-decision ring on, GET /v1/decisions/<id> returns every scored
 * candidate's model input, named in FEATURE_NAMES order, equal to what the
 * skew audit recorded for the same request (an independent copy of the same
 * rows); the rows leave with their record, rows of decisions that never
 * answered are bounded, and with the ring off nothing is kept or served.
 */
import { FEATURE_COUNT, FEATURE_NAMES } from '@mercato/features/feature-vector';
import { parseFeatureAudit } from '@mercato/proto/v1/feature-audit';
import t from 'tap';
import { MemorySink } from '../../../sidecar/src/decision-log/decision-log-sinks.js';
import {
  DecisionRing,
  PENDING_ROWS_MAX,
  SERVED_ROWS_MAX,
} from '../../../sidecar/src/decision-log/decision-ring.js';
import { resolveBundleDir } from '../../../sidecar/src/model/model-bundle.js';
import { checkout, worldSidecar } from '../../helpers/sidecar-world.js';

interface ServedJson {
  sku: string;
  node: string;
  features: Record<string, number>;
}

t.test('with the ring on, a decision returns the rows the model was served', async (t) => {
  const audit = new MemorySink();
  const sc = worldSidecar({
    recentDecisions: 2,
    featureAudit: { sink: audit, rate: 1 },
    httpPort: 0,
    grpcPort: 0,
    host: '127.0.0.1',
  });
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());
  await sc.models.loadAndActivate(await resolveBundleDir('models'));
  const url = (id: string) => `http://127.0.0.1:${httpPort}/v1/decisions/${id}`;

  const a = await sc.engine.check(checkout('IN-STOCK', 2, 'r-a'));
  t.notOk(a.degradations.includes('model'), 'the model scored the request');
  const res = await fetch(url(a.decisionId));
  t.equal(res.status, 200);
  const body = (await res.json()) as {
    served_features: ServedJson[];
    items: { candidates: { node: string; p: number | null }[] }[];
  };
  const scored = body.items[0]!.candidates.filter((c) => c.p !== null).map((c) => c.node);
  t.ok(scored.length >= 2, `${scored.length} candidates scored`);
  t.same(
    body.served_features.map((r) => r.node).sort(),
    [...scored].sort(),
    'one served row per scored candidate',
  );
  for (const r of body.served_features) {
    t.equal(r.sku, 'IN-STOCK');
    t.same(Object.keys(r.features), [...FEATURE_NAMES], `${r.node}: named in FEATURE_NAMES order`);
  }

  // The skew audit copied the same rows on its own path (rate 1): equal, float for float.
  await sc.featureAudit!.flush();
  const audited = audit.lines
    .map((l) => parseFeatureAudit(JSON.parse(l)))
    .filter((r) => r.decisionId === a.decisionId);
  t.equal(audited.length, body.served_features.length, 'as many rows as the audit recorded');
  for (const rec of audited) {
    const row = body.served_features.find((r) => r.node === rec.node)!;
    t.same(
      FEATURE_NAMES.map((n) => row.features[n]),
      rec.features,
      `${rec.node}: the explorer's row equals the audited one`,
    );
  }

  // A capacity of 2: the third decision pushes the first out, rows and all.
  const b = await sc.engine.check(checkout('IN-STOCK', 1, 'r-b'));
  await sc.engine.check(checkout('LOW', 1, 'r-c'));
  t.equal((await fetch(url(a.decisionId))).status, 404, 'the first decision left the ring');
  const kept = (await (await fetch(url(b.decisionId))).json()) as { served_features: ServedJson[] };
  t.ok(kept.served_features.length > 0, 'a decision still in the ring keeps its rows');
  t.equal((await fetch(url('bad%20id'))).status, 400, 'a malformed id is refused');
});

t.test('rows are bounded: per decision, while waiting, and gone with their slot', async (t) => {
  const ring = new DecisionRing(1);
  const row = new Float32Array(FEATURE_COUNT * 2).fill(0.5);
  for (let i = 0; i < SERVED_ROWS_MAX + 10; i++) ring.keep('d-many', 'S', `N-${i}`, row, FEATURE_COUNT);
  // Decisions that scored but never answered (failed after scoring): the oldest are dropped.
  for (let i = 0; i < PENDING_ROWS_MAX + 50; i++) ring.keep(`d-lost-${i}`, 'S', 'N', row, 0);
  t.equal(ring.pendingDecisions, PENDING_ROWS_MAX, `at most ${PENDING_ROWS_MAX} decisions wait`);
  const record = (id: string) =>
    ({ decisionId: id, items: [] }) as unknown as Parameters<DecisionRing['push']>[0];
  ring.push(record('d-many'));
  t.same(ring.served('d-many'), [], 'the first waiting decision was dropped (oldest first)');
  ring.keep('d-x', 'S', 'N-0', row, FEATURE_COUNT);
  ring.push(record('d-x'));
  t.equal(ring.served('d-x').length, 1);
  t.equal(ring.served('d-x')[0]!.features.length, FEATURE_COUNT, 'one row is FEATURE_COUNT floats');
  row.fill(9);
  t.equal(ring.served('d-x')[0]!.features[0], 0.5, 'the row is a copy, not a view of the batch');
  ring.push(record('d-y'));
  t.same(ring.served('d-x'), [], 'evicted with its record');

  const capped = new DecisionRing(4);
  for (let i = 0; i < SERVED_ROWS_MAX + 10; i++) capped.keep('d-big', 'S', `N-${i}`, row, 0);
  capped.push(record('d-big'));
  t.equal(capped.served('d-big').length, SERVED_ROWS_MAX, `at most ${SERVED_ROWS_MAX} rows per decision`);
});

t.test('with the ring off, nothing is kept and the route does not exist', async (t) => {
  const sc = worldSidecar({ httpPort: 0, grpcPort: 0, host: '127.0.0.1' });
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());
  await sc.models.loadAndActivate(await resolveBundleDir('models'));
  const d = await sc.engine.check(checkout('IN-STOCK', 1, 'r-off'));
  t.notOk(d.degradations.includes('model'));
  const res = await fetch(`http://127.0.0.1:${httpPort}/v1/decisions/${d.decisionId}`);
  t.equal(res.status, 404, 'no ring: no decision route, no rows copied');
});
