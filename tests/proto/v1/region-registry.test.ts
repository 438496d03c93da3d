/**
 * The region registry contract: what parses and what is refused (naming
 * the field), which flows are allowed, and the registry travelling in a
 * snapshot and in a delta with the content hash covering it.
 */
import { CONTROL_SNAPSHOT_SCHEMA, type ControlSnapshot } from '@mercato/proto/v1/control-snapshot';
import {
  assertFlowAllowed,
  defaultRegionRegistry,
  flowAllowed,
  parseRegionRegistry,
  REGION_REGISTRY_SCHEMA,
  regionRegistryToJson,
  requireRegion,
} from '@mercato/proto/v1/region-registry';
import { snapshotContentHash } from '@mercato/proto/v1/snapshot-content';
import { applySnapshotDelta, diffSnapshots } from '@mercato/proto/v1/snapshot-delta';
import t from 'tap';

const valid = {
  schema: REGION_REGISTRY_SCHEMA,
  version: 4,
  regions: [
    {
      name: 'us-east',
      residency: 'us',
      redis_url: 'redis://redis.us-east:6379',
      kafka_brokers: ['k1.us-east:9092', '[::1]:9093'],
      flows: [{ to: 'eu-west', kinds: ['model-bundle'] }],
    },
    {
      name: 'eu-west',
      residency: 'eu-gdpr',
      flows: [{ to: 'us-east', kinds: ['metrics', 'node-aggregate'] }],
    },
  ],
};

t.test('a registry parses, sorted, and round-trips through its JSON form', async (t) => {
  const r = parseRegionRegistry(valid);
  t.same(
    r.regions.map((x) => x.name),
    ['eu-west', 'us-east'],
  );
  t.same(parseRegionRegistry(regionRegistryToJson(r)), r);
  t.equal(parseRegionRegistry(regionRegistryToJson(defaultRegionRegistry())).regions.length, 3);
});

t.test('bad registries are refused naming the field', async (t) => {
  const bad = (patch: (o: typeof valid) => unknown, field: string, msg: RegExp) => {
    const o = structuredClone(valid);
    const raw = patch(o) ?? o;
    t.throws(() => parseRegionRegistry(raw), { field, message: msg }, field);
  };
  bad(
    (o) => {
      o.regions[0]!.name = 'us_east';
    },
    'regions[0].name',
    /region name/,
  );
  bad(
    (o) => {
      o.regions[1]!.residency = 'mars';
    },
    'regions[1].residency',
    /eu-gdpr/,
  );
  bad(
    (o) => {
      o.regions[0]!.redis_url = 'http://x:1';
    },
    'regions[0].redis_url',
    /redis:\/\//,
  );
  bad(
    (o) => {
      o.regions[0]!.redis_url = 'redis://:secret@x:1';
    },
    'regions[0].redis_url',
    /password/,
  );
  bad(
    (o) => {
      o.regions[0]!.kafka_brokers = ['nohost'];
    },
    'regions[0].kafka_brokers[0]',
    /host:port/,
  );
  bad(
    (o) => {
      o.regions[1]!.flows[0]!.kinds = ['buyer-id'];
    },
    'regions[1].flows[0].kinds[0]',
    /user-level data/,
  );
  bad(
    (o) => {
      o.regions[1]!.flows[0]!.to = 'eu-west';
    },
    'regions[1].flows[0].to',
    /itself/,
  );
  bad(
    (o) => {
      o.regions[1]!.flows[0]!.to = 'ap-south';
    },
    'regions[1].flows[0].to',
    /unknown region "ap-south" \(known regions: us-east, eu-west\)/,
  );
  bad(
    (o) => {
      o.regions.push({ name: 'eu-west', residency: 'open', flows: [] });
    },
    'regions[2].name',
    /twice/,
  );
  bad((o) => ({ ...o, regions: [] }), 'regions', /at least 1/);
});

t.test('flows: same region always, aggregates only where the registry says, never user-level', async (t) => {
  const r = parseRegionRegistry(valid);
  t.ok(flowAllowed(r, 'eu-west', 'eu-west', 'decision-record'), 'in-region is not a flow');
  t.ok(flowAllowed(r, 'eu-west', 'us-east', 'metrics'));
  t.notOk(flowAllowed(r, 'eu-west', 'us-east', 'model-bundle'), 'not listed');
  t.notOk(flowAllowed(r, 'us-east', 'eu-west', 'decision-record'), 'user-level never');
  t.notOk(flowAllowed(r, 'eu-west', 'ap-south', 'metrics'), 'unknown region');
  t.throws(() => assertFlowAllowed(r, 'us-east', 'eu-west', 'outcome-record', 'destination'), {
    field: 'destination',
    message: /never leaves us-east/,
  });
  t.throws(() => requireRegion(r, 'eu-wset', 'target'), {
    field: 'target',
    message: /unknown region "eu-wset" \(known regions: eu-west, us-east\)/,
  });
});

t.test('the registry is part of the snapshot content and travels in deltas', async (t) => {
  const base: ControlSnapshot = {
    schema: CONTROL_SNAPSHOT_SCHEMA,
    version: 1,
    contentHash: '',
    rulesVersion: 'rules-x',
    killSwitches: [],
    routes: [],
    holds: [],
    sellers: [],
    model: { active: 'rules-only' },
    regionRegistry: defaultRegionRegistry(),
  };
  base.contentHash = snapshotContentHash(base);
  const next: ControlSnapshot = { ...base, version: 2, regionRegistry: parseRegionRegistry(valid) };
  next.contentHash = snapshotContentHash(next);
  t.not(next.contentHash, base.contentHash, 'a registry change changes the hash');
  const applied = applySnapshotDelta(base, JSON.parse(JSON.stringify(diffSnapshots(base, next))));
  t.same(applied.regionRegistry, next.regionRegistry);
  const tampered = diffSnapshots(base, next) as unknown as Record<string, unknown>;
  delete tampered.region_registry;
  t.throws(
    () => applySnapshotDelta(base, tampered),
    { code: 'ATP_ERR_DELTA_MISMATCH' },
    'a delta dropping it does not verify',
  );
});
