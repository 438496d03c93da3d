/**
 * The region registry in the control plane, on real SQLite and PostgreSQL:
 * the default registry, admin-only changes with a reason (audited), reads
 * for viewers, the registry inside the signed snapshot, an unknown region
 * refused by every lever that takes one (naming the field, listing the known
 * regions), removal refused while referenced, atpctl region list|show|put|
 * remove, --regions-file at start, and the migration of a schema-2 store.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseControlSnapshot } from '@mercato/proto/v1/control-snapshot';
import { snapshotContentHash } from '@mercato/proto/v1/snapshot-content';
import t, { type Test } from 'tap';
import { createFakeControlPlane } from '../../../control-plane/src/control-plane.js';
import { runServe } from '../../../control-plane/src/main.js';
import { createControlStore } from '../../../control-plane/src/store/create-control-store.js';
import { generateSigningKeys } from '../../../proto/v1/bundle-signature.js';
import {
  bootstrapTokens,
  startControlWorld,
  TOKENS,
  tempDir,
  testPostgres,
  worldOf,
} from '../helpers/control-world.js';

type World = Awaited<ReturnType<typeof startControlWorld>>;

async function suite(t: Test, world: () => Promise<World>): Promise<void> {
  const w = await world();

  await t.test('a new store holds the default registry, readable by a viewer', async (t) => {
    const r = await w.get('/v1/regions', TOKENS.viewer);
    t.equal(r.status, 200);
    t.equal(r.json.version, 1);
    t.same(
      (r.json.regions as { name: string }[]).map((x) => x.name),
      ['eu-central', 'eu-west', 'us-east'],
    );
    const snap = await w.get('/v1/snapshot', TOKENS.viewer);
    const parsed = parseControlSnapshot(snap.json);
    t.equal(parsed.regionRegistry?.version, 1, 'the registry travels inside the snapshot');
    t.equal(snapshotContentHash(parsed), parsed.contentHash, 'and is covered by its content hash');
  });

  await t.test('an unknown region is refused by every lever, naming the field', async (t) => {
    const ks = await w.post(
      '/v1/kill-switches/set',
      { scope: 'region', target: 'eu-wset', reason: 'typo' },
      TOKENS.operator,
    );
    t.equal(ks.status, 400);
    const err = ks.json.error as Record<string, string>;
    t.equal(err.field, 'target');
    t.match(err.message, /unknown region "eu-wset" \(known regions: eu-central, eu-west, us-east\)/);
    const hold = await w.post(
      '/v1/rules/holds/add',
      { sku: 'SKU-1', region: 'mars-1', reason: 'x' },
      TOKENS.operator,
    );
    t.same([hold.status, (hold.json.error as Record<string, string>).field], [400, 'region']);
    const seller = await w.post(
      '/v1/rules/sellers/set',
      { node_id: 'S-1', regions: ['eu-west', 'mars-1'], reason: 'x' },
      TOKENS.operator,
    );
    t.same([seller.status, (seller.json.error as Record<string, string>).field], [400, 'regions[1]']);
    const promote = await w.post(
      '/v1/models/promote',
      { version: 'm-1', region: 'mars-1', pct: 10, reason: 'x' },
      TOKENS.operator,
    );
    t.same([promote.status, (promote.json.error as Record<string, string>).field], [400, 'region']);
    const cli = await w.atpctl(
      ['killswitch', 'set', '--scope', 'region:eu-wset', '--reason', 'x'],
      TOKENS.operator,
    );
    t.equal(cli.code, 1);
    t.match(cli.stderr, /eu-wset/);
    t.match(cli.stderr, /known regions: eu-central, eu-west, us-east/);
    const refused = await w.get('/v1/audit?outcome=refused&action=killswitch.set', TOKENS.viewer);
    t.ok(
      (refused.json.entries as Record<string, unknown>[]).some((e) => e.code === 'ATP_ERR_INVALID_ARGUMENT'),
      'the refusal is audited',
    );
    const ok = await w.post(
      '/v1/kill-switches/set',
      { scope: 'region', target: 'eu-west', reason: 'known region' },
      TOKENS.operator,
    );
    t.equal(ok.status, 200);
    await w.post(
      '/v1/kill-switches/clear',
      { scope: 'region', target: 'eu-west', reason: 'x' },
      TOKENS.operator,
    );
  });

  await t.test(
    'only admins change the registry; each change is a new version, audited with its reason',
    async (t) => {
      const body = {
        name: 'ap-south',
        residency: 'open',
        redis_url: 'redis://redis.ap-south:6379',
        kafka_brokers: ['kafka.ap-south:9092'],
        flows: [{ to: 'eu-west', kinds: ['metrics', 'model-bundle'] }],
        reason: 'new region AP-1',
      };
      const asOperator = await w.post('/v1/regions/put', body, TOKENS.operator);
      t.equal(asOperator.status, 403);
      const userLevel = await w.post(
        '/v1/regions/put',
        { ...body, flows: [{ to: 'eu-west', kinds: ['decision-record'] }] },
        TOKENS.admin,
      );
      t.equal(userLevel.status, 400);
      t.equal((userLevel.json.error as Record<string, string>).field, 'flows[0].kinds[0]');
      t.match(
        (userLevel.json.error as Record<string, string>).message,
        /user-level data: it never leaves its region/,
      );
      const toUnknown = await w.post('/v1/regions/put', {
        ...body,
        flows: [{ to: 'mars-1', kinds: ['metrics'] }],
      });
      t.same(
        [toUnknown.status, (toUnknown.json.error as Record<string, string>).field],
        [400, 'flows[0].to'],
      );
      const put = await w.post('/v1/regions/put', body, TOKENS.admin);
      t.equal(put.status, 200);
      t.equal(put.json.registry_version, 2);
      const list = await w.atpctl(['region', 'list'], TOKENS.viewer);
      t.equal(list.code, 0, list.stderr);
      t.match(list.stdout, /region registry version 2/);
      t.match(
        list.stdout,
        /ap-south\s+open\s+redis:\/\/redis.ap-south:6379\s+kafka.ap-south:9092\s+eu-west\(metrics\+model-bundle\)/,
      );
      const show = JSON.parse(
        (await w.atpctl(['--json', 'region', 'show', 'ap-south'], TOKENS.viewer)).stdout,
      );
      t.same(show.region.flows, [{ to: 'eu-west', kinds: ['metrics', 'model-bundle'] }]);
      const missing = await w.atpctl(['region', 'show', 'mars-1'], TOKENS.viewer);
      t.not(missing.code, 0);
      t.match(missing.stderr, /known regions: ap-south, eu-central, eu-west, us-east/);
      const snap = parseControlSnapshot((await w.get('/v1/snapshot', TOKENS.viewer)).json);
      t.same(
        snap.regionRegistry?.regions.map((r) => r.name),
        ['ap-south', 'eu-central', 'eu-west', 'us-east'],
      );
      const audit = await w.get('/v1/audit?action=region.put&outcome=accepted', TOKENS.viewer);
      const entry = (audit.json.entries as Record<string, unknown>[])[0]!;
      t.same([entry.actor, entry.reason, entry.target], ['admin-1', 'new region AP-1', 'ap-south']);
      const ks = await w.post(
        '/v1/kill-switches/set',
        { scope: 'region', target: 'ap-south', reason: 'now known' },
        TOKENS.operator,
      );
      t.equal(ks.status, 200, 'a region put is usable at once');
    },
  );

  await t.test('a region still referenced is not removed', async (t) => {
    const byKill = await w.atpctl(['region', 'remove', 'ap-south', '--reason', 'closing'], TOKENS.admin);
    t.equal(byKill.code, 1);
    t.match(byKill.stderr, /ATP_ERR_CONFLICT/);
    t.match(byKill.stderr, /kill switch region:ap-south/);
    const byFlow = await w.post('/v1/regions/remove', { name: 'eu-west', reason: 'x' }, TOKENS.admin);
    t.equal(byFlow.status, 409);
    t.match((byFlow.json.error as Record<string, string>).message, /flow ap-south -> eu-west/);
    const unknown = await w.post('/v1/regions/remove', { name: 'mars-1', reason: 'x' }, TOKENS.admin);
    t.equal(unknown.status, 404);
    await w.post(
      '/v1/kill-switches/clear',
      { scope: 'region', target: 'ap-south', reason: 'x' },
      TOKENS.operator,
    );
    const removed = await w.atpctl(
      ['--json', 'region', 'remove', 'ap-south', '--reason', 'closing'],
      TOKENS.admin,
    );
    t.equal(removed.code, 0, removed.stderr);
    const r = await w.get('/v1/regions', TOKENS.viewer);
    t.equal(r.json.version, 3);
    t.same(
      (r.json.history as { version: number; reason: string }[]).map((h) => [h.version, h.reason]),
      [
        [3, 'closing'],
        [2, 'new region AP-1'],
        [1, 'default region registry of a new store'],
      ],
    );
    const gone = await w.post(
      '/v1/kill-switches/set',
      { scope: 'region', target: 'ap-south', reason: 'x' },
      TOKENS.operator,
    );
    t.equal(gone.status, 400, 'a removed region is unknown again');
  });
}

t.test('SQLite (in memory)', async (t) => {
  await suite(t, () => startControlWorld(t));
});

t.test('PostgreSQL', async (t) => {
  const pgdb = await testPostgres(t);
  await suite(t, async () => {
    const keys = generateSigningKeys();
    const cp = createFakeControlPlane({
      db: `${pgdb.url}?schema=${pgdb.schema}`,
      signingKeyPem: keys.privatePem,
      bootstrapTokens: bootstrapTokens(),
      trustedKeysPem: [keys.publicPem],
    });
    await cp.start();
    t.teardown(() => cp.stop());
    return worldOf(cp, keys);
  });
});

t.test('a schema-2 SQLite store migrates: default regions plus every region its rows name', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'control.db');
  const store = createControlStore({ kind: 'sqlite', path });
  await store.open(1_000);
  // Make it what a schema-2 control plane left: no registry, a kill switch and a hold on other regions.
  await store.write(async (tx) => {
    await tx.levers.upsertKillSwitch({
      scope: 'region',
      target: 'ap-south',
      reason: 'r',
      setBy: 'op',
      setAtMs: 1,
    });
    await tx.rules.upsertHold({ sku: 'S', region: 'sa-east', reason: 'r', setBy: 'op', setAtMs: 1 });
  });
  await store.db.write(async (sql) => {
    await sql.run('DELETE FROM region_registry');
    await sql.run('DELETE FROM schema_migrations WHERE version = 3');
  });
  await store.close();
  const again = createControlStore({ kind: 'sqlite', path });
  await again.open(2_000);
  const registry = await again.read((tx) => tx.regions.latest());
  await again.close();
  t.same(
    registry?.regions.map((r) => [r.name, r.residency]),
    [
      ['ap-south', 'open'],
      ['eu-central', 'eu-gdpr'],
      ['eu-west', 'eu-gdpr'],
      ['sa-east', 'open'],
      ['us-east', 'us'],
    ],
  );
});

t.test('serve --regions-file: applied at start, audited, bad files refused naming the flag', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'regions.json');
  writeFileSync(
    file,
    JSON.stringify({
      regions: [
        {
          name: 'eu-west',
          residency: 'eu-gdpr',
          redis_url: 'redis://r-eu:6379',
          flows: [{ to: 'us-east', kinds: ['metrics'] }],
        },
        { name: 'us-east', residency: 'us', kafka_brokers: ['k-us:9092'], flows: [] },
      ],
    }),
  );
  const keys = generateSigningKeys();
  const cp = createFakeControlPlane({
    regions: JSON.parse(readFileSync(file, 'utf8')),
    regionsSource: `--regions-file ${file}`,
    bootstrapTokens: bootstrapTokens(),
    trustedKeysPem: [keys.publicPem],
  });
  await cp.start();
  t.teardown(() => cp.stop());
  const w = worldOf(cp, keys);
  const r = await w.get('/v1/regions', TOKENS.viewer);
  t.equal(r.json.version, 2);
  t.same(
    (r.json.regions as { name: string }[]).map((x) => x.name),
    ['eu-west', 'us-east'],
  );
  const audit = await w.get('/v1/audit?action=region.file', TOKENS.viewer);
  t.match((audit.json.entries as Record<string, unknown>[])[0]?.reason, /--regions-file/);
  const ks = await w.post(
    '/v1/kill-switches/set',
    { scope: 'region', target: 'eu-central', reason: 'x' },
    TOKENS.operator,
  );
  t.equal(ks.status, 400, 'eu-central is not in this registry');

  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ regions: [{ name: 'eu_west', residency: 'eu-gdpr' }] }));
  await t.rejects(
    runServe({ db: 'sqlite::memory:', regionsFile: bad, httpPort: '0', grpcPort: '0' }, Promise.resolve()),
    {
      code: 'ATP_ERR_INVALID_FLAG',
      message: /--regions-file: .*eu_west/,
    },
  );
});
