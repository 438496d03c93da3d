/**
 * Finding 4 (issue 16): the audit log had no retention. Now entries older
 * than --audit-retention-days go, and beyond --audit-max-rows the oldest go
 * first, each trim leaving one `audit.prune` entry; `atpctl audit export
 * --since ... > file.ndjson` streams the log (oldest first) to keep it
 * elsewhere before that.
 */
import t from 'tap';
import { createFakeControlPlane } from '../../../control-plane/src/control-plane.js';
import { generateSigningKeys } from '../../../proto/v1/bundle-signature.js';
import { bootstrapTokens, startControlWorld, TOKENS, worldOf } from '../helpers/control-world.js';

const DAY_MS = 86_400_000;

t.test('finding 4: audit retention by age and by row count, each trim audited', async (t) => {
  let now = Date.UTC(2025, 0, 1);
  const cp = createFakeControlPlane(
    { bootstrapTokens: bootstrapTokens(), auditRetentionDays: 30, auditMaxRows: 50 },
    { clock: () => now },
  );
  await cp.start();
  t.teardown(() => cp.stop());
  const w = worldOf(cp, generateSigningKeys());
  for (let i = 0; i < 10; i++) {
    await w.post('/v1/rules/holds/add', { sku: `OLD-${i}`, reason: 'old' }, TOKENS.operator);
  }
  now += 40 * DAY_MS;
  for (let i = 0; i < 5; i++) {
    await w.post('/v1/rules/holds/add', { sku: `NEW-${i}`, reason: 'new' }, TOKENS.operator);
  }
  const byAge = await cp.retention.runOnce();
  t.ok(byAge.byAge >= 10, `${byAge.byAge} entries older than 30 days deleted`);
  const left = (await w.get('/v1/audit?limit=1000', TOKENS.viewer)).json.entries as {
    action: string;
    target: string;
  }[];
  t.notOk(
    left.some((e) => e.target.startsWith('OLD-')),
    'nothing older than the retention is left',
  );
  t.equal(left.filter((e) => e.target.startsWith('NEW-')).length, 5);
  const prune = left.find((e) => e.action === 'audit.prune') as unknown as { detail: Record<string, number> };
  t.ok((prune.detail.deleted_by_age ?? 0) >= 10, 'the trim itself is audited');

  for (let i = 0; i < 60; i++) {
    await w.post('/v1/rules/holds/add', { sku: `MORE-${i}`, reason: 'volume' }, TOKENS.operator);
  }
  const byCount = await cp.retention.runOnce();
  t.ok(byCount.byCount > 0);
  const total = await cp.store.read((tx) => tx.audit.count());
  t.ok(total <= 51, `at most the row cap (+ the prune entry): ${total}`);
  const newest = (await w.get('/v1/audit?limit=1', TOKENS.viewer)).json.entries as { action: string }[];
  t.equal(newest[0]?.action, 'audit.prune');
});

t.test('finding 4: atpctl audit export --since streams NDJSON, oldest first', async (t) => {
  const w = await startControlWorld(t);
  for (let i = 0; i < 3; i++) {
    await w.post('/v1/rules/holds/add', { sku: `EARLY-${i}`, reason: 'r' }, TOKENS.operator);
  }
  await new Promise((r) => setTimeout(r, 20));
  const cut = Date.now();
  await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < 2_500; i++) {
    await w.cp.store.write((tx) =>
      tx.audit.append({
        atMs: Date.now(),
        actor: 'bulk',
        role: null,
        action: 'bulk.entry',
        target: `B-${i}`,
        reason: null,
        outcome: 'accepted',
        code: null,
        message: null,
        detail: { i },
        snapshotVersion: null,
      }),
    );
  }
  const all = await w.atpctl(['audit', 'export', '--since', '2000-01-01'], TOKENS.operator);
  t.equal(all.code, 0, all.stderr);
  const lines = all.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: number; target: string; at: string });
  t.ok(lines.length >= 2_503 + 3, `${lines.length} entries over several pages`);
  t.ok(
    lines.every((l, i) => i === 0 || l.id > (lines[i - 1]?.id ?? 0)),
    'oldest first',
  );
  const since = await w.atpctl(['audit', 'export', '--since', String(cut)], TOKENS.operator);
  const recent = since.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { target: string });
  t.equal(recent.length, 2_500, 'only entries at or after --since');
  t.equal(recent[0]?.target, 'B-0');
  const viewer = await w.atpctl(['audit', 'export', '--since', '24h'], TOKENS.viewer);
  t.equal(viewer.code, 1, 'exporting the whole log needs an operator');
  t.match(viewer.stderr, /ATP_ERR_FORBIDDEN/);
  const bad = await w.atpctl(['audit', 'export', '--since', 'yesterday-ish'], TOKENS.operator);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--since: expected an ISO date/);
});
