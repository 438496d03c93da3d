/**
 * The border guard lets aggregates cross between federation regions and
 * refuses region-private rows, unknown regions and anything an aggregate
 * kind does not carry, with an ATP_ERR_RESIDENCY error naming the field.
 */
import t from 'tap';
import { defaultRegionRegistry } from '../../../proto/v1/region-registry.js';
import { BorderGuard } from '../../../training/src/federated/border-guard.js';
import {
  type Aggregate,
  aggregate,
  decodeAggregate,
  encodeAggregate,
  RegionPrivate,
} from '../../../training/src/federated/region-data.js';

const REGIONS = ['eu-west', 'eu-central', 'us-east'];
const rows = { x: Float32Array.from([1, 2, 3, 4]), y: Uint8Array.from([0, 1]), rows: 2 };

t.test('an aggregate crosses to another region as a decoded copy and its bytes are counted', async (t) => {
  const guard = new BorderGuard(REGIONS);
  const hist = aggregate('histogram', 'eu-central', {
    node: 3,
    dense: Float64Array.from([0.5, 1.25, -2, 4]),
  });
  const got = guard.export(hist, 'eu-west');
  t.same(Array.from(got.body.dense!), [0.5, 1.25, -2, 4]);
  t.equal(got.body.node, 3);
  t.not(got.body.dense, hist.body.dense, 'nothing is shared by reference');
  t.equal(guard.traffic.crossMessages, 1);
  t.equal(guard.traffic.crossBytes, encodeAggregate(hist).length);
  t.equal(guard.traffic.byKind.histogram, guard.traffic.crossBytes);
  guard.export(aggregate('counts', 'eu-west', { values: Float64Array.from([1]) }), 'eu-west');
  t.equal(guard.traffic.crossMessages, 1, 'a transfer inside a region crosses no border');
  t.ok(guard.traffic.localBytes > 0);
});

t.test('region-private rows are refused by the export, by JSON and outside their region', async (t) => {
  const guard = new BorderGuard(REGIONS);
  const priv = new RegionPrivate('eu-central', rows);
  // @ts-expect-error region-private rows are not an aggregate: the export does not type-check.
  t.throws(() => guard.export(priv, 'eu-west'), { code: 'ATP_ERR_RESIDENCY', field: 'item' });
  t.throws(() => guard.export(priv as unknown as Aggregate, 'eu-central'), { code: 'ATP_ERR_RESIDENCY' });
  t.throws(() => JSON.stringify({ rows: priv }), { code: 'ATP_ERR_RESIDENCY' });
  t.throws(() => priv.read('us-east'), { code: 'ATP_ERR_RESIDENCY', field: 'region' });
  t.equal(priv.read('eu-central'), rows, 'readable in its own region');
  const smuggled = aggregate('counts', 'eu-central', { values: Float64Array.from([1]) });
  (smuggled.body as Record<string, unknown>).values = priv;
  t.throws(() => guard.export(smuggled, 'eu-west'), { code: 'ATP_ERR_RESIDENCY', field: 'counts.values' });
  t.equal(guard.traffic.crossBytes, 0, 'nothing crossed');
});

t.test('unknown regions, unknown kinds and foreign fields are refused, naming the field', async (t) => {
  const guard = new BorderGuard(REGIONS);
  const ok = aggregate('counts', 'eu-west', { values: Float64Array.from([2]) });
  t.throws(() => guard.export(ok, 'eu-wset'), { code: 'ATP_ERR_RESIDENCY', field: 'to', message: /eu-wset/ });
  t.throws(() => guard.export({ ...ok, source: 'ap-south' }, 'eu-west'), {
    code: 'ATP_ERR_RESIDENCY',
    field: 'source',
  });
  const rowsAsAggregate = { kind: 'rows', source: 'eu-west', body: { x: rows.x } } as unknown as Aggregate;
  t.throws(() => guard.export(rowsAsAggregate, 'us-east'), { code: 'ATP_ERR_RESIDENCY', field: 'kind' });
  const extra = aggregate('counts', 'eu-west', { values: Float64Array.from([2]) });
  (extra.body as Record<string, unknown>).x = rows.x;
  t.throws(() => guard.export(extra, 'us-east'), { code: 'ATP_ERR_RESIDENCY', field: 'counts.x' });
  const wrongType = aggregate('histogram', 'eu-west', {});
  (wrongType.body as Record<string, unknown>).dense = rows.x;
  t.throws(() => guard.export(wrongType, 'us-east'), {
    code: 'ATP_ERR_RESIDENCY',
    field: 'histogram.dense',
    message: /expected Float64Array, got Float32Array/,
  });
});

t.test('the wire format round-trips every field type', async (t) => {
  const a = aggregate('model', 'us-east', {
    op: 'tree',
    ints: Int32Array.from([1, -1, 7]),
    reals: Float64Array.from([Math.PI]),
    values: Float32Array.from([0.25, -3]),
  });
  const b = decodeAggregate(encodeAggregate(a));
  t.equal(b.kind, 'model');
  t.equal(b.source, 'us-east');
  t.same(b.body, a.body);
});

t.test('the region registry decides which flows exist', async (t) => {
  t.throws(() => new BorderGuard(['eu-west', 'eu-wset']), {
    code: 'ATP_ERR_RESIDENCY',
    field: 'regions',
    message: /unknown region "eu-wset"/,
  });
  const registry = defaultRegionRegistry();
  // us-east may receive nothing from eu-central in this registry.
  registry.regions = registry.regions.map((r) =>
    r.name === 'eu-central' ? { ...r, flows: r.flows.filter((f) => f.to !== 'us-east') } : r,
  );
  const guard = new BorderGuard(REGIONS, registry);
  const a = aggregate('counts', 'eu-central', { values: Float64Array.from([1]) });
  t.throws(() => guard.export(a, 'us-east'), {
    code: 'ATP_ERR_RESIDENCY',
    field: 'to',
    message: /no training-histogram flow/,
  });
  t.ok(guard.export(a, 'eu-west'), 'the allowed flow still works');
});
