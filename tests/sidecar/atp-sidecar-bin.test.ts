/**
 * `atp-sidecar` is the sidecar package's bin (npm links it into
 * node_modules/.bin, so `npx atp-sidecar serve --help` works): the same
 * program as sidecar/src/main.ts, with the same flags and exit codes.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../helpers/fixtures.js';

const BIN = join(REPO_ROOT, 'node_modules', '.bin', 'atp-sidecar');

t.test('the package declares the bin and npm links it', async (t) => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'sidecar/package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  t.same(pkg.bin, { 'atp-sidecar': './bin/atp-sidecar.js' });
  t.equal(realpathSync(BIN), join(REPO_ROOT, 'sidecar/bin/atp-sidecar.js'));
});

t.test('atp-sidecar serve --help lists the flags; a bad flag exits 2 naming it', async (t) => {
  const help = spawnSync(BIN, ['serve', '--help'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  t.equal(help.status, 0);
  for (const flag of ['--region', '--rules-only', '--enforce', '--world-clock', '--batch-max-age-h']) {
    t.match(help.stdout, flag);
  }
  const bad = spawnSync(BIN, ['serve', '--region', 'eu-west', '--world-clock', 'now'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /ATP_ERR_INVALID_FLAG --world-clock/);
});
