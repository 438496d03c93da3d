/**
 * The store's one set of queries on both databases: the same suite runs on
 * SQLite (a file in a temp folder) and on PostgreSQL (a private server
 * started for this file, tests/helpers/postgres-server.ts; or
 * ATP_TEST_PG_URL's, with a uniquely named schema dropped afterwards). Snapshot versions stay monotonic without
 * gaps or duplicates under concurrent writers, including two "replicas"
 * (two stores on one PostgreSQL schema).
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { publishSnapshot } from '../../../control-plane/src/snapshot/snapshot-publisher.js';
import type { ControlStore } from '../../../control-plane/src/store/control-store.js';
import { createControlStore } from '../../../control-plane/src/store/create-control-store.js';
import { tempDir, testPostgres } from '../helpers/control-world.js';

type Factory = () => ControlStore;

async function suite(t: Test, make: Factory): Promise<void> {
  const store = make();
  await store.open(1_000);
  t.teardown(() => store.close());

  await t.test(
    'a fresh store is seeded like a sidecar without a control plane, and publishes version 1',
    async (t) => {
      const s = await store.write((tx) => publishSnapshot(tx, 1_000));
      t.equal(s.snapshot.version, 1);
      t.ok(s.changed);
      t.same(s.snapshot.routes, [{ prefix: '/checkout', mode: 'enforce', rolloutPct: 100 }]);
      t.same(s.snapshot.model, { active: 'rules-only' });
      t.match(s.snapshot.contentHash, /^sha256:[0-9a-f]{64}$/);
      const again = await store.write((tx) => publishSnapshot(tx, 2_000));
      t.notOk(again.changed, 'same content: no new version');
      t.equal(again.snapshot.version, 1);
    },
  );

  await t.test('opening again does not re-seed or lose anything', async (t) => {
    await store.write((tx) =>
      tx.levers.upsertRoute({
        prefix: '/checkout',
        mode: 'shadow',
        rolloutPct: 40,
        updatedBy: 'a',
        updatedAtMs: 5,
      }),
    );
    await store.open(3_000);
    const second = make();
    await second.open(4_000);
    t.teardown(() => second.close());
    const routes = await second.read((tx) => tx.levers.routes());
    t.same(
      routes.map((r) => [r.prefix, r.mode, r.rolloutPct]),
      [['/checkout', 'shadow', 40]],
    );
    await store.write((tx) =>
      tx.levers.upsertRoute({
        prefix: '/checkout',
        mode: 'enforce',
        rolloutPct: 100,
        updatedBy: 'a',
        updatedAtMs: 6,
      }),
    );
  });

  await t.test(
    'write-model rows round-trip: kill switches, holds (one region / every region), sellers',
    async (t) => {
      await store.write(async (tx) => {
        await tx.levers.upsertKillSwitch({
          scope: 'region',
          target: 'eu-west',
          reason: 'r1',
          setBy: 'op',
          setAtMs: 10,
        });
        await tx.levers.upsertKillSwitch({
          scope: 'global',
          target: '',
          reason: 'g',
          setBy: 'op',
          setAtMs: 11,
        });
        await tx.levers.upsertKillSwitch({
          scope: 'region',
          target: 'eu-west',
          reason: 'r2',
          setBy: 'op2',
          setAtMs: 12,
        });
        await tx.rules.upsertHold({ sku: 'SKU-1', region: null, reason: 'recall', setBy: 'op', setAtMs: 13 });
        await tx.rules.upsertHold({
          sku: 'SKU-1',
          region: 'us-east',
          reason: 'ban',
          setBy: 'op',
          setAtMs: 14,
        });
        await tx.rules.upsertSeller({
          constraint: { nodeId: 'S-1', handlingHours: 48, blackoutHoursUtc: [0, 6], regions: ['eu-west'] },
          updatedBy: 'op',
          updatedAtMs: 15,
        });
      });
      const [ks, holds, sellers] = await store.read(
        async (tx) =>
          [await tx.levers.killSwitches(), await tx.rules.holds(), await tx.rules.sellers()] as const,
      );
      t.same(
        ks.map((k) => [k.scope, k.target, k.reason, k.setBy]),
        [
          ['global', '', 'g', 'op'],
          ['region', 'eu-west', 'r2', 'op2'],
        ],
      );
      t.same(
        holds.map((h) => [h.sku, h.region]),
        [
          ['SKU-1', null],
          ['SKU-1', 'us-east'],
        ],
      );
      t.same(sellers[0]?.constraint, {
        nodeId: 'S-1',
        handlingHours: 48,
        blackoutHoursUtc: [0, 6],
        regions: ['eu-west'],
      });
      t.ok(await store.write((tx) => tx.rules.deleteHold('SKU-1', null)));
      t.notOk(await store.write((tx) => tx.rules.deleteHold('SKU-1', null)), 'a second delete finds nothing');
      t.ok(await store.write((tx) => tx.levers.deleteKillSwitch('global', '')));
      t.ok(await store.write((tx) => tx.rules.deleteSeller('S-1')));
    },
  );

  await t.test('model bytes, promotion history and staged rollout round-trip', async (t) => {
    const bytes = Buffer.from([0, 1, 2, 255, 254, 0, 7]);
    await store.write(async (tx) => {
      await tx.models.insert(
        {
          version: 'm1',
          modelFile: 'model.onnx',
          modelSha256: 'ab',
          keyId: 'ed25519:k',
          sizeBytes: bytes.length,
          pushedBy: 'adm',
          pushedAtMs: 20,
        },
        { manifest: Buffer.from('{"x":1}'), signature: null, model: bytes },
      );
      await tx.models.pushHistory('m1', 'op', 21);
      await tx.models.pushHistory('m2', 'op', 22);
      await tx.models.setRollout({ stagedVersion: 'm3', stagedPctByRegion: { 'eu-west': 10 } }, 'op', 23);
    });
    const files = await store.read((tx) => tx.models.files('m1'));
    t.ok(files?.model.equals(bytes), 'binary exact');
    t.equal(files?.signature, null);
    const h = await store.read((tx) => tx.models.history());
    t.same(
      h.map((x) => x.version),
      ['m1', 'm2'],
    );
    await store.write((tx) => tx.models.deleteHistory(h[1]!.seq));
    t.same(
      (await store.read((tx) => tx.models.history())).map((x) => x.version),
      ['m1'],
    );
    t.same(await store.read((tx) => tx.models.rollout()), {
      stagedVersion: 'm3',
      stagedPctByRegion: { 'eu-west': 10 },
    });
    await store.write((tx) => tx.models.setRollout({ stagedVersion: null, stagedPctByRegion: {} }, 'op', 24));
  });

  await t.test('a transaction that throws leaves nothing behind', async (t) => {
    await t.rejects(
      store.write(async (tx) => {
        await tx.levers.upsertKillSwitch({ scope: 'sku', target: 'X', reason: 'x', setBy: 'op', setAtMs: 1 });
        throw new Error('boom');
      }),
      /boom/,
    );
    t.notOk((await store.read((tx) => tx.levers.killSwitches())).some((k) => k.target === 'X'));
  });

  await t.test('audit entries append and query newest first, with filters and paging', async (t) => {
    await store.write(async (tx) => {
      for (let i = 0; i < 5; i++) {
        await tx.audit.append({
          atMs: 100 + i,
          actor: i % 2 === 0 ? 'alice' : 'anonymous',
          role: i % 2 === 0 ? 'operator' : null,
          action: 'killswitch.set',
          target: `region:r${i}`,
          reason: i % 2 === 0 ? 'why' : null,
          outcome: i % 2 === 0 ? 'accepted' : 'refused',
          code: i % 2 === 0 ? null : 'ATP_ERR_UNAUTHENTICATED',
          message: null,
          detail: { i },
          snapshotVersion: i % 2 === 0 ? i : null,
        });
      }
    });
    const all = await store.read((tx) => tx.audit.query({ limit: 3 }));
    t.same(
      all.map((e) => e.target),
      ['region:r4', 'region:r3', 'region:r2'],
    );
    const older = await store.read((tx) => tx.audit.query({ limit: 10, beforeId: all[2]!.id }));
    t.same(
      older.map((e) => e.target),
      ['region:r1', 'region:r0'],
    );
    const refused = await store.read((tx) => tx.audit.query({ limit: 10, outcome: 'refused' }));
    t.same(
      refused.map((e) => [e.actor, e.code, e.role]),
      [
        ['anonymous', 'ATP_ERR_UNAUTHENTICATED', null],
        ['anonymous', 'ATP_ERR_UNAUTHENTICATED', null],
      ],
    );
    t.same((await store.read((tx) => tx.audit.query({ limit: 10, actor: 'alice' }))).length, 3);
    t.same(all[0]?.detail, { i: 4 });
  });

  await t.test('tokens are found by hash and revoked once', async (t) => {
    await store.write((tx) =>
      tx.tokens.insert({
        name: 'bob',
        tokenHash: 'h-bob',
        role: 'viewer',
        createdBy: 'system',
        createdAtMs: 1,
        revokedAtMs: null,
      }),
    );
    t.equal((await store.read((tx) => tx.tokens.byHash('h-bob')))?.name, 'bob');
    t.ok(await store.write((tx) => tx.tokens.revoke('bob', 2)));
    t.notOk(await store.write((tx) => tx.tokens.revoke('bob', 3)));
    t.equal((await store.read((tx) => tx.tokens.byHash('h-bob')))?.revokedAtMs, 2);
  });

  await t.test('concurrent writers publish monotonic versions without gaps or duplicates', async (t) => {
    const other = make();
    await other.open(5_000);
    t.teardown(() => other.close());
    const before = await store.read((tx) => tx.snapshots.latestVersion());
    const N = 20;
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        (i % 2 === 0 ? store : other).write(async (tx) => {
          await tx.rules.upsertHold({ sku: `C-${i}`, region: null, reason: 'c', setBy: 'op', setAtMs: i });
          return (await publishSnapshot(tx, 6_000 + i)).snapshot.version;
        }),
      ),
    );
    t.same(
      [...results].sort((a, b) => a - b),
      Array.from({ length: N }, (_, i) => before + 1 + i),
    );
    const latest = await store.read((tx) => tx.snapshots.latest());
    t.equal(latest?.version, before + N);
    t.equal(
      JSON.parse(latest!.body).holds.filter((h: { sku: string }) => h.sku.startsWith('C-')).length,
      N,
      'the last version holds every change',
    );
  });

  await t.test('old snapshots are pruned past the retention', async (t) => {
    const latest = await store.read((tx) => tx.snapshots.latestVersion());
    await store.write(async (tx) => {
      await tx.rules.upsertHold({ sku: 'P-1', region: null, reason: 'p', setBy: 'op', setAtMs: 1 });
      await publishSnapshot(tx, 7_000, 2);
    });
    t.equal(await store.read((tx) => tx.snapshots.at(latest - 1)), undefined, 'pruned');
    t.ok(await store.read((tx) => tx.snapshots.at(latest)), 'kept');
    t.ok(await store.read((tx) => tx.snapshots.at(latest + 1)), 'new');
  });
}

t.test('SQLite store', async (t) => {
  const dir = tempDir(t);
  await suite(t, () => createControlStore({ kind: 'sqlite', path: join(dir, 'control.db') }));
});

t.test('PostgreSQL store', async (t) => {
  const { url, schema } = await testPostgres(t);
  await suite(t, () => createControlStore({ kind: 'postgres', url, schema }));
});
