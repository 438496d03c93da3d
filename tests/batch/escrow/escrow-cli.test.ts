/**
 * `atp-batch escrow budget|reconcile` as installed (the real bin, two real
 * redis-servers): a budget run prints its moves and tops the holder's
 * budget up; reconcile returns it; bad flags are refused naming the flag.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { budgetKeys, escrowedKey } from '../../../adapters/src/redis/escrow-keys.js';
import { connectRedis } from '../../../adapters/src/redis/redis-client.js';
import { startRedisServer } from '../../helpers/redis-server.js';
import { seedRedis } from '../../helpers/redis-world.js';

const REPO = join(import.meta.dirname, '../../..');
const BIN = join(REPO, 'node_modules/.bin/atp-batch');

const rx = await startRedisServer();
const ry = await startRedisServer();
t.teardown(async () => {
  await rx.stop();
  await ry.stop();
});

function escrow(...args: string[]) {
  const r = spawnSync(BIN, ['escrow', ...args], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const pair = [
  '--origin',
  'eu-west',
  '--origin-redis',
  rx.url,
  '--holder',
  'eu-central',
  '--holder-redis',
  ry.url,
];

t.test('budget moves a share of the origin stock into the holder; reconcile returns it', async (t) => {
  await seedRedis(rx.url, 'eu-west', [
    { sku: 'HOT-1', node: 'WH-1', units: 30 },
    { sku: 'HOT-1', node: 'ST-1', units: 10 },
  ]);
  const b = escrow('budget', ...pair, '--sku', 'HOT-1', '--share', '0.3');
  t.equal(b.status, 0, b.stderr);
  const line = JSON.parse(b.stdout.trim());
  t.equal(line.event, 'escrow_budget');
  t.equal(line.unitsMoved, 12, '0.3 x 30 + 0.3 x 10');
  t.same(line.budget, { 'HOT-1': 12 });
  const x = await connectRedis(rx.url, 'write');
  const y = await connectRedis(ry.url, 'write');
  t.teardown(() => {
    x.disconnect();
    y.disconnect();
  });
  t.same(await y.hgetall(budgetKeys('eu-central', 'eu-west', 'HOT-1').budget), { 'WH-1': '9', 'ST-1': '3' });
  t.same(await x.hgetall(escrowedKey('eu-west', 'HOT-1')), { 'WH-1': '9', 'ST-1': '3' });

  const r = escrow('reconcile', ...pair);
  t.equal(r.status, 0, r.stderr);
  const rec = JSON.parse(r.stdout.trim());
  t.equal(rec.event, 'escrow_reconciled');
  t.equal(rec.returnedUnits, 12);
  t.equal(rec.usedUnits, 0);
  t.same(await x.hgetall(escrowedKey('eu-west', 'HOT-1')), {});
});

t.test('--skus-file selects the SKUs; an empty file selects none and changes nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atp-escrow-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await seedRedis(rx.url, 'eu-west', [{ sku: 'HOT-2', node: 'WH-1', units: 10 }]);
  writeFileSync(join(dir, 'skus'), '# hot SKUs of eu-west\nHOT-2\n\n');
  const b = escrow('budget', ...pair, '--skus-file', join(dir, 'skus'), '--share', '0.5');
  t.equal(b.status, 0, b.stderr);
  t.same(JSON.parse(b.stdout.trim()).budget, { 'HOT-2': 5 });
  writeFileSync(join(dir, 'empty'), '# none yet\n');
  const e = escrow('budget', ...pair, '--skus-file', join(dir, 'empty'));
  t.equal(e.status, 0, e.stderr);
  t.equal(JSON.parse(e.stdout.trim()).unitsMoved, 0);
  writeFileSync(join(dir, 'bad'), 'OK-1\nnot a sku\n');
  const bad = escrow('budget', ...pair, '--skus-file', join(dir, 'bad'));
  t.equal(bad.status, 2);
  t.match(bad.stderr, /ATP_ERR_INVALID_FLAG --skus-file: line 2/);
});

t.test('bad flags are refused naming the flag', async (t) => {
  const cases: [string[], RegExp][] = [
    [['budget', ...pair], /ATP_ERR_INVALID_FLAG --sku/],
    [['budget', ...pair, '--sku', 'A', '--share', '0.9'], /ATP_ERR_INVALID_FLAG --share/],
    [['budget', ...pair, '--sku', 'bad sku'], /ATP_ERR_INVALID_FLAG --sku/],
    [
      [
        'reconcile',
        ...pair.slice(0, 2),
        '--origin-redis',
        rx.url,
        '--holder',
        'eu-west',
        '--holder-redis',
        ry.url,
      ],
      /ATP_ERR_INVALID_FLAG --holder: must differ/,
    ],
    [
      [
        'reconcile',
        '--origin',
        'EU_WEST',
        '--origin-redis',
        rx.url,
        '--holder',
        'eu-central',
        '--holder-redis',
        ry.url,
      ],
      /ATP_ERR_INVALID_FLAG --origin/,
    ],
    [
      [
        'reconcile',
        '--origin',
        'eu-west',
        '--origin-redis',
        'http://x',
        '--holder',
        'eu-central',
        '--holder-redis',
        ry.url,
      ],
      /ATP_ERR_INVALID_FLAG --origin-redis/,
    ],
  ];
  for (const [args, err] of cases) {
    const r = escrow(...args);
    t.equal(r.status, 2, args.join(' '));
    t.match(r.stderr, err);
  }
});
