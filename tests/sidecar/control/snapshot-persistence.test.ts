/**
 * The last good snapshot on disk: written atomically (no temp files left,
 * the old file intact until the rename), loaded back identical, and a
 * corrupt, truncated or edited file is refused with a coded error.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { type ControlSnapshot, defaultControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import { canonicalSnapshot, snapshotContentHash } from '../../../proto/v1/snapshot-content.js';
import { SnapshotPersistence } from '../../../sidecar/src/control/snapshot-persistence.js';
import { tempDir } from '../../control-plane/helpers/control-world.js';

function snap(version: number, over: Partial<ControlSnapshot> = {}): ControlSnapshot {
  const s = canonicalSnapshot({ ...defaultControlSnapshot('m1'), ...over, version });
  return { ...s, contentHash: snapshotContentHash(s) };
}

t.test('no file yet: nothing loaded, no error', async (t) => {
  const p = new SnapshotPersistence(join(tempDir(t), 'state', 'control-snapshot.json'));
  t.same(p.load(), { snapshot: null, error: null });
});

t.test('save then load gives the same snapshot; saves leave no temp files; the last save wins', async (t) => {
  const dir = tempDir(t);
  const p = new SnapshotPersistence(join(dir, 'state', 'control-snapshot.json'));
  const a = snap(3, { killSwitches: [{ scope: 'region', target: 'eu-west', reason: 'INC' }] });
  await p.save(a);
  t.same(p.load(), { snapshot: a });
  const saves = [4, 5, 6, 7].map((v) => p.save(snap(v, { holds: [{ sku: `S${v}`, reason: 'r' }] })));
  await Promise.all(saves);
  const loaded = p.load();
  t.equal(loaded.snapshot?.version, 7);
  t.same(readdirSync(join(dir, 'state')), ['control-snapshot.json'], 'no temp files left');
});

t.test('corrupt, truncated or edited files are refused with ATP_ERR_SNAPSHOT_INVALID', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'control-snapshot.json');
  const p = new SnapshotPersistence(path);
  await p.save(snap(9, { holds: [{ sku: 'S', reason: 'r' }] }));
  const good = readFileSync(path, 'utf8');

  writeFileSync(path, good.slice(0, good.length - 20));
  let r = p.load();
  t.equal(r.snapshot, null, 'truncated');
  t.equal(!r.snapshot && r.error?.code, 'ATP_ERR_SNAPSHOT_INVALID');

  const edited = JSON.parse(good);
  edited.holds = [];
  writeFileSync(path, JSON.stringify(edited));
  r = p.load();
  t.equal(r.snapshot, null, 'edited by hand: the content hash no longer matches');
  t.equal(!r.snapshot && r.error?.field, 'content_hash');

  const invalid = JSON.parse(good);
  invalid.routes = [{ prefix: 'checkout', mode: 'enforce', rollout_pct: 100 }];
  writeFileSync(path, JSON.stringify(invalid));
  r = p.load();
  t.equal(!r.snapshot && r.error?.field, 'routes[0].prefix', 'invalid content names the field');
});

t.test('a failing save reports ATP_ERR_SNAPSHOT_PERSIST_FAILED and leaves the old file', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'control-snapshot.json');
  const p = new SnapshotPersistence(path);
  await p.save(snap(1));
  const blocked = new SnapshotPersistence(join(path, 'not-a-dir', 'x.json'));
  await t.rejects(blocked.save(snap(2)), { code: 'ATP_ERR_SNAPSHOT_PERSIST_FAILED' });
  t.equal(p.load().snapshot?.version, 1);
});
