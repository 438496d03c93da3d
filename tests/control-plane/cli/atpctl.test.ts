/**
 * atpctl against a running control plane: every command, its text and
 * --json output, the errors it prints (code, field, what to do) and its
 * exit codes; --help shows examples. One test runs the real executable.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { REPO_ROOT } from '../../helpers/fixtures.js';
import { startControlWorld, TOKENS, tempDir, writeFakeBundle } from '../helpers/control-world.js';

const run = promisify(execFile);

t.test('levers: kill switches, mode, rollout, with text and --json output', async (t) => {
  const w = await startControlWorld(t);
  const set = await w.atpctl(
    ['killswitch', 'set', '--scope', 'region:eu-west', '--reason', 'INC-4711'],
    TOKENS.operator,
  );
  t.equal(set.code, 0, set.stderr);
  t.match(set.stdout, /killswitch.set region:eu-west: accepted, snapshot v2/);
  const again = await w.atpctl(
    ['--json', 'killswitch', 'set', '--scope', 'region:eu-west', '--reason', 'INC-4711'],
    TOKENS.operator,
  );
  const j = JSON.parse(again.stdout);
  t.same([j.ok, j.changed, j.snapshot.version], [true, false, 2]);
  t.equal(
    (
      await w.atpctl(
        ['killswitch', 'set', '--scope', 'route:/checkout/gift', '--reason', 'x'],
        TOKENS.operator,
      )
    ).code,
    0,
  );
  t.equal(
    (await w.atpctl(['killswitch', 'set', '--scope', 'sku:SKU-1', '--reason', 'x'], TOKENS.operator)).code,
    0,
  );
  t.equal(
    (await w.atpctl(['killswitch', 'set', '--scope', 'global', '--reason', 'x'], TOKENS.operator)).code,
    0,
  );
  t.equal(
    (await w.atpctl(['killswitch', 'clear', '--scope', 'global', '--reason', 'x'], TOKENS.operator)).code,
    0,
  );
  t.equal(
    (await w.atpctl(['mode', 'set', '/checkout', 'shadow', '--reason', 'eval'], TOKENS.operator)).code,
    0,
  );
  t.equal(
    (await w.atpctl(['rollout', 'set', '/checkout', '25', '--reason', 'canary'], TOKENS.operator)).code,
    0,
  );
  const status = await w.atpctl(['status'], TOKENS.viewer);
  t.equal(status.code, 0);
  t.match(
    status.stdout,
    /kill switches\s+region:eu-west \(INC-4711\); route:\/checkout\/gift \(x\); sku:SKU-1 \(x\)/,
  );
  t.match(status.stdout, /routes\s+\/checkout shadow 25%/);
  const js = JSON.parse((await w.atpctl(['--json', 'status'], TOKENS.viewer)).stdout);
  t.equal(js.version, 8);
  const snap = JSON.parse((await w.atpctl(['snapshot', '--version', '2'], TOKENS.viewer)).stdout);
  t.equal(snap.version, 2);
});

t.test('rules: holds and seller constraints', async (t) => {
  const w = await startControlWorld(t);
  t.equal(
    (
      await w.atpctl(
        ['rules', 'hold', 'add', 'SKU-9', '--region', 'eu-west', '--reason', 'ban'],
        TOKENS.operator,
      )
    ).code,
    0,
  );
  t.equal((await w.atpctl(['rules', 'hold', 'add', 'SKU-8', '--reason', 'recall'], TOKENS.operator)).code, 0);
  const seller = await w.atpctl(
    [
      'rules',
      'seller',
      'set',
      'SELLER-42',
      '--handling-hours',
      '48',
      '--daily-order-cap',
      '200',
      '--blackout-hours-utc',
      '0-6',
      '--regions',
      'eu-west,eu-central',
      '--reason',
      'sla',
    ],
    TOKENS.operator,
  );
  t.equal(seller.code, 0, seller.stderr);
  const snap = JSON.parse((await w.atpctl(['snapshot'], TOKENS.viewer)).stdout);
  t.same(snap.holds, [
    { sku: 'SKU-8', reason: 'recall' },
    { sku: 'SKU-9', region: 'eu-west', reason: 'ban' },
  ]);
  t.same(snap.sellers, [
    {
      node_id: 'SELLER-42',
      handling_hours: 48,
      daily_order_cap: 200,
      blackout_hours_utc: [0, 6],
      regions: ['eu-west', 'eu-central'],
    },
  ]);
  const wrongRegion = await w.atpctl(
    ['rules', 'hold', 'remove', 'SKU-9', '--reason', 'lift'],
    TOKENS.operator,
  );
  t.equal(wrongRegion.code, 1);
  t.match(wrongRegion.stderr, /held in: eu-west; pass that --region/);
  t.equal(
    (
      await w.atpctl(
        ['rules', 'hold', 'remove', 'SKU-9', '--region', 'eu-west', '--reason', 'lift'],
        TOKENS.operator,
      )
    ).code,
    0,
  );
  t.equal(
    (await w.atpctl(['rules', 'seller', 'remove', 'SELLER-42', '--reason', 'gone'], TOKENS.operator)).code,
    0,
  );
});

t.test('models: keygen, sign, push, promote staged and full, list, rollback', async (t) => {
  const w = await startControlWorld(t);
  const dir = tempDir(t);
  const keyDir = join(dir, 'keys');
  const kg = await w.atpctl(['--json', 'model', 'keygen', '--out', keyDir], null);
  t.equal(kg.code, 0, kg.stderr);
  const keys = JSON.parse(kg.stdout);
  t.equal(statSync(keys.private_key).mode & 0o777, 0o600, 'the private key is readable by its owner only');
  const again = await w.atpctl(['model', 'keygen', '--out', keyDir], null);
  t.equal(again.code, 2, 'never overwrites a private key');

  // The control plane trusts the key atpctl just made.
  const { createFakeControlPlane } = await import('../../../control-plane/src/control-plane.js');
  const { worldOf } = await import('../helpers/control-world.js');
  const cp = createFakeControlPlane({
    bootstrapTokens: Object.entries(TOKENS).map(([role, token]) => ({ name: `${role}-1`, role, token })),
    trustedKeys: [keys.public_key],
  });
  await cp.start();
  t.teardown(() => cp.stop());
  const w2 = worldOf(cp, w.keys);

  for (const v of ['m1', 'm2']) {
    const b = writeFakeBundle(join(dir, v), v, null);
    const unsignedPush = await w2.atpctl(['model', 'push', b, '--reason', 'x'], TOKENS.admin);
    t.equal(unsignedPush.code, 1);
    t.match(unsignedPush.stderr, /ATP_ERR_MODEL_UNSIGNED[\s\S]*atpctl model sign --key/);
    const sign = await w2.atpctl(['model', 'sign', '--key', keys.private_key, b], null);
    t.equal(sign.code, 0, sign.stderr);
    t.ok(existsSync(join(b, 'manifest.sig')));
    const push = await w2.atpctl(['model', 'push', b, '--reason', 'retrain'], TOKENS.admin);
    t.equal(push.code, 0, push.stderr);
    t.match(push.stdout, new RegExp(`model ${v} pushed \\(signed by ${keys.key_id}\\)`));
  }
  const asOperator = await w2.atpctl(['model', 'push', join(dir, 'm1'), '--reason', 'x'], TOKENS.operator);
  t.equal(asOperator.code, 1);
  t.match(asOperator.stderr, /ATP_ERR_FORBIDDEN: model.push needs the admin role/);

  t.equal((await w2.atpctl(['model', 'promote', 'm1', '--reason', 'first'], TOKENS.operator)).code, 0);
  t.equal(
    (
      await w2.atpctl(
        ['model', 'promote', 'm2', '--region', 'eu-west', '--pct', '10', '--reason', 'canary'],
        TOKENS.operator,
      )
    ).code,
    0,
  );
  const st = await w2.atpctl(['status'], TOKENS.viewer);
  t.match(st.stdout, /model\s+active m1\s+previous -\s+staged m2 \(eu-west 10%\)/);
  const half = await w2.atpctl(['model', 'promote', 'm2', '--pct', '10', '--reason', 'x'], TOKENS.operator);
  t.equal(half.code, 2);
  t.match(half.stderr, /--region and --pct go together/);
  t.equal((await w2.atpctl(['model', 'promote', 'm2', '--reason', 'everywhere'], TOKENS.operator)).code, 0);
  const list = await w2.atpctl(['model', 'list'], TOKENS.viewer);
  t.match(list.stdout, /m2\s+active/);
  const rb = await w2.atpctl(['model', 'rollback', '--reason', 'INC-1'], TOKENS.operator);
  t.equal(rb.code, 0, rb.stderr);
  t.equal(JSON.parse((await w2.atpctl(['snapshot'], TOKENS.viewer)).stdout).model.active, 'm1');
});

t.test('audit shows accepted and refused changes', async (t) => {
  const w = await startControlWorld(t);
  await w.atpctl(['killswitch', 'set', '--scope', 'region:eu-west', '--reason', 'INC-9'], TOKENS.operator);
  await w.atpctl(['killswitch', 'set', '--scope', 'region:eu-west', '--reason', 'INC-9'], TOKENS.viewer);
  const audit = await w.atpctl(['audit', '--limit', '5'], TOKENS.viewer);
  t.equal(audit.code, 0);
  t.match(audit.stdout, /viewer-1\s+killswitch.set\s+region:eu-west\s+REFUSED ATP_ERR_FORBIDDEN/);
  t.match(audit.stdout, /operator-1\s+killswitch.set\s+region:eu-west\s+accepted v2\s+INC-9/);
  const refused = JSON.parse(
    (await w.atpctl(['--json', 'audit', '--outcome', 'refused'], TOKENS.viewer)).stdout,
  );
  t.equal(refused.entries.length, 1);
});

t.test('errors say what is wrong and what to do; exit codes tell scripts what happened', async (t) => {
  const w = await startControlWorld(t);
  const noReason = await w.atpctl(['killswitch', 'set', '--scope', 'global'], TOKENS.operator);
  t.equal(noReason.code, 2);
  t.match(noReason.stderr, /--reason is required: say why \(it is recorded in the audit log\)/);
  const badScope = await w.atpctl(
    ['killswitch', 'set', '--scope', 'planet:earth', '--reason', 'x'],
    TOKENS.operator,
  );
  t.equal(badScope.code, 2);
  t.match(badScope.stderr, /--scope: expected global, region:<region>, route:<\/prefix> or sku:<sku>/);
  const badPct = await w.atpctl(['rollout', 'set', '/checkout', '150', '--reason', 'x'], TOKENS.operator);
  t.equal(badPct.code, 2);
  t.match(badPct.stderr, /<pct>: expected an integer 0..100/);
  const badMode = await w.atpctl(['mode', 'set', '/checkout', 'loud', '--reason', 'x'], TOKENS.operator);
  t.equal(badMode.code, 2);
  const noToken = await w.atpctl(['status'], null);
  t.equal(noToken.code, 1);
  t.match(noToken.stderr, /ATP_ERR_UNAUTHENTICATED[\s\S]*what to do: pass a bearer token/);
  const viewer = await w.atpctl(['killswitch', 'set', '--scope', 'global', '--reason', 'x'], TOKENS.viewer);
  t.equal(viewer.code, 1);
  t.match(viewer.stderr, /killswitch.set needs the operator role; token "viewer-1" has viewer/);
  const serverSide = await w.atpctl(
    ['--json', 'killswitch', 'set', '--scope', 'region:eu west', '--reason', 'x'],
    TOKENS.operator,
  );
  t.equal(serverSide.code, 1);
  const e = JSON.parse(serverSide.stderr).error;
  t.same([e.code, e.field], ['ATP_ERR_INVALID_ARGUMENT', 'target']);
  const unknownCmd = await w.atpctl(['killswitch', 'toggle'], TOKENS.operator);
  t.equal(unknownCmd.code, 2);
  const down = await w.atpctl(['--server', 'http://127.0.0.1:9', 'status'], TOKENS.viewer);
  t.equal(down.code, 3);
  t.match(
    down.stderr,
    /ATP_ERR_UNAVAILABLE: cannot reach the control plane at http:\/\/127.0.0.1:9[\s\S]*what to do: check --server/,
  );
  const tokenFile = join(tempDir(t), 'token');
  (await import('node:fs')).writeFileSync(tokenFile, `${TOKENS.viewer}\n`);
  t.equal((await w.atpctl(['--token-file', tokenFile, 'status'], null)).code, 0, '--token-file works');
});

t.test('--help lists commands and shows examples for each', async (t) => {
  const w = await startControlWorld(t);
  const top = await w.atpctl(['--help'], null);
  t.equal(top.code, 0);
  for (const cmd of ['status', 'killswitch', 'mode', 'rollout', 'model', 'rules', 'audit', 'shadow', 'token'])
    t.match(top.stdout, new RegExp(`\\n\\s+${cmd}\\b`));
  t.match(top.stdout, /Examples:/);
  for (const sub of [
    ['killswitch', 'set'],
    ['mode', 'set'],
    ['rollout', 'set'],
    ['model', 'push'],
    ['model', 'promote'],
    ['model', 'rollback'],
    ['model', 'sign'],
    ['rules', 'hold', 'add'],
    ['rules', 'seller', 'set'],
    ['shadow', 'report'],
    ['audit'],
    ['status'],
  ]) {
    const h = await w.atpctl([...sub, '--help'], null);
    t.equal(h.code, 0, sub.join(' '));
    t.match(h.stdout, /Examples:\n\s+\$ atpctl /, `${sub.join(' ')} --help has examples`);
  }
});

t.test('the executable runs under node --import tsx', async (t) => {
  const w = await startControlWorld(t);
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'control-plane/src/cli/atpctl.ts', '--json', 'status'],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ATP_CONTROL_URL: w.url, ATP_CONTROL_TOKEN: TOKENS.viewer },
    },
  );
  t.equal(JSON.parse(stdout).version, 1);
  const failed = await run(
    process.execPath,
    ['--import', 'tsx', 'control-plane/src/cli/atpctl.ts', 'status'],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ATP_CONTROL_URL: w.url, ATP_CONTROL_TOKEN: 'wrong-token' },
    },
  ).catch((e: { code: number; stderr: string }) => e);
  t.equal((failed as { code: number }).code, 1);
  t.match((failed as { stderr: string }).stderr, /ATP_ERR_UNAUTHENTICATED/);
  t.ok(readFileSync(join(REPO_ROOT, 'control-plane/src/cli/atpctl.ts'), 'utf8').includes('runAtpctl'));
});
