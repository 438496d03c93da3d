/**
 * atpctl as an installed command: `npm install` links the control-plane
 * workspace's bins into node_modules/.bin, `npx atpctl` finds it from the
 * repository root, and the linked executable talks to a control plane with
 * the same output and exit codes as the in-process CLI. `npm run atpctl`
 * keeps working too.
 */
import { execFile } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { REPO_ROOT } from '../../helpers/fixtures.js';
import { startControlWorld, TOKENS } from '../helpers/control-world.js';

const run = promisify(execFile);
const BIN_DIR = join(REPO_ROOT, 'node_modules', '.bin');
const BINS = {
  atpctl: 'control-plane/bin/atpctl.js',
  'atp-control-plane': 'control-plane/bin/control-plane.js',
};

type Failed = { code: number; stdout: string; stderr: string };

t.test('npm links both bins into node_modules/.bin, executable', async (t) => {
  for (const [name, target] of Object.entries(BINS)) {
    const link = join(BIN_DIR, name);
    t.equal(
      realpathSync(link),
      join(REPO_ROOT, target),
      `${name} -> ${target} (run npm install after adding a bin)`,
    );
    t.ok((statSync(link).mode & 0o111) !== 0, `${name} is executable`);
  }
});

t.test('npx atpctl --help works from the repository root', async (t) => {
  // yes=false (npx --no): never ask the registry; the workspace's own bin must be found.
  const { stdout } = await run('npx', ['atpctl', '--help'], {
    cwd: REPO_ROOT,
    env: { ...process.env, npm_config_yes: 'false' },
  });
  t.match(stdout, /^Usage: atpctl /m);
  for (const cmd of ['status', 'killswitch', 'model', 'rules', 'audit', 'shadow', 'token'])
    t.match(stdout, new RegExp(`\\n\\s+${cmd}\\b`));
  t.match(stdout, /Examples:/);
  const viaScript = await run('npm', ['run', '--silent', 'atpctl', '--', '--help'], { cwd: REPO_ROOT });
  t.match(viaScript.stdout, /^Usage: atpctl /m, 'npm run atpctl still works');
});

t.test('node_modules/.bin/atpctl runs commands against a control plane, exit codes included', async (t) => {
  const w = await startControlWorld(t);
  const bin = join(BIN_DIR, 'atpctl');
  const env = (token: string) => ({ ...process.env, ATP_CONTROL_URL: w.url, ATP_CONTROL_TOKEN: token });
  const { stdout } = await run(bin, ['--json', 'status'], { cwd: REPO_ROOT, env: env(TOKENS.viewer) });
  t.equal(JSON.parse(stdout).version, 1);

  const set = await run(bin, ['killswitch', 'set', '--scope', 'sku:SKU-1', '--reason', 'bin test'], {
    cwd: REPO_ROOT,
    env: env(TOKENS.operator),
  });
  t.match(set.stdout, /killswitch.set sku:SKU-1: accepted, snapshot v2/);

  const refused = (await run(bin, ['status'], { cwd: REPO_ROOT, env: env('wrong-token') }).catch(
    (e: Failed) => e,
  )) as Failed;
  t.equal(refused.code, 1, 'refused by the control plane');
  t.match(refused.stderr, /ATP_ERR_UNAUTHENTICATED[\s\S]*what to do: pass a bearer token/);

  const usage = (await run(bin, ['rollout', 'set', '/checkout', '150', '--reason', 'x'], {
    cwd: REPO_ROOT,
    env: env(TOKENS.operator),
  }).catch((e: Failed) => e)) as Failed;
  t.equal(usage.code, 2, 'bad usage');
  t.match(usage.stderr, /<pct>: expected an integer 0..100/);

  const down = (await run(bin, ['--json', '--server', 'http://127.0.0.1:9', 'status'], {
    cwd: REPO_ROOT,
    env: env(TOKENS.viewer),
  }).catch((e: Failed) => e)) as Failed;
  t.equal(down.code, 3, 'unreachable: retry');
  t.equal(JSON.parse(down.stderr).error.code, 'ATP_ERR_UNAVAILABLE');
});

t.test('node_modules/.bin/atp-control-plane starts the server entry', async (t) => {
  const { stdout } = await run(join(BIN_DIR, 'atp-control-plane'), ['serve', '--help'], { cwd: REPO_ROOT });
  t.match(stdout, /^Usage: control-plane serve /m);
  t.match(stdout, /--trusted-key <path>/);
  const bad = (await run(join(BIN_DIR, 'atp-control-plane'), ['serve', '--http-port', 'x'], {
    cwd: REPO_ROOT,
  }).catch((e: Failed) => e)) as Failed;
  t.equal(bad.code, 2, 'bad flags exit 2 before anything starts');
  t.match(bad.stderr, /ATP_ERR_INVALID_FLAG --http-port: expected an integer 0..65535, got "x"/);
});
