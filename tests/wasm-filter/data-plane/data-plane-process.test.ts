/**
 * The data plane as its own process (atp-data-plane): the compiled filter in
 * the emulator, in front of an upstream, asking a sidecar that is another
 * process. It serves checkouts (allow reaches the upstream, deny is answered
 * 409 by the filter), answers its own readiness, refuses bad flags by name
 * with exit 2, and stops cleanly on SIGTERM.
 */
import { realpathSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../../helpers/fixtures.js';
import {
  DATA_PLANE_BIN,
  runDataPlaneToExit,
  startDataPlaneProcess,
  startSidecarStandIn,
} from '../helpers/data-plane-process.js';
import { postCheckout, startEchoUpstream } from '../helpers/echo-upstream.js';
import { filterModule } from '../helpers/filter-harness.js';

const EXIT_OK = 0;
const EXIT_USAGE = 2;
/** The data plane's own stop bound (STOP_DEADLINE_MS) with room for a loaded box. */
const STOP_BOUND_MS = 5_000;

t.before(async () => {
  // Build the .wasm once here, so no process below spends its start-up compiling it.
  await filterModule();
});

t.test('npm links atp-data-plane into node_modules/.bin, executable', async (t) => {
  const link = join(REPO_ROOT, 'node_modules', '.bin', 'atp-data-plane');
  t.equal(realpathSync(link), join(REPO_ROOT, DATA_PLANE_BIN), 'run npm install after adding a bin');
  t.ok((statSync(link).mode & 0o111) !== 0, 'executable');
});

t.test(
  'a data-plane process serves allows and denies, answers readiness, and stops on SIGTERM',
  async (t) => {
    // A sidecar stand-in (its own process: deny for OOS*, allow otherwise) and a checkout upstream.
    const sidecar = await startSidecarStandIn(t);
    const upstream = await startEchoUpstream();
    t.teardown(() => upstream.close());

    // Start the data plane in front of them; it says where it listens on stdout.
    const plane = await startDataPlaneProcess(t, [
      '--upstream',
      `127.0.0.1:${upstream.port}`,
      '--sidecar',
      `127.0.0.1:${sidecar.port}`,
      '--region',
      'eu-west',
      '--route',
      '/checkout=enforce',
      '--timeout-ms',
      '1000',
    ]);
    const listening = plane.lines.find((l) => l.event === 'listening');
    t.equal(listening?.port, plane.port, 'a {"event":"listening","port":...} line');

    // Readiness is answered by the data plane itself, not forwarded upstream.
    const ready = await fetch(`http://127.0.0.1:${plane.port}/__atp/ready`);
    t.equal(ready.status, 200);
    t.same(await ready.json(), { ready: true });
    t.equal(upstream.seen.length, 0, 'the probe never reached the upstream');

    // An in-stock basket is allowed: the upstream answers, with the sidecar's decision on the request.
    const allowed = await postCheckout(plane.port, [{ sku: 'SKU-1', qty: 1 }], { requestId: 'r-allow' });
    t.equal(allowed.status, 201, 'the upstream answered');
    t.equal(upstream.seen[0]?.['x-atp-decision'], 'allow');
    t.match(upstream.seen[0]?.['x-atp-decision-id'], /^stand-in-\d+$/);

    // An out-of-stock basket is denied by the filter and never reaches the upstream.
    const denied = await postCheckout(plane.port, [{ sku: 'OOS-1', qty: 1 }], { requestId: 'r-deny' });
    t.equal(denied.status, 409);
    t.equal(denied.body.error, 'unavailable');
    t.equal(upstream.seen.length, 1, 'the deny stayed in the data plane');

    // SIGTERM: a clean, bounded stop, exit 0, with a stopped line.
    const exited = await plane.stop('SIGTERM');
    t.equal(exited.code, EXIT_OK, `exit 0 (stderr: ${exited.stderr})`);
    t.ok(exited.elapsedMs < STOP_BOUND_MS, `stopped in ${Math.round(exited.elapsedMs)} ms`);
    t.ok(
      plane.lines.some((l) => l.event === 'stopped'),
      'logged "stopped"',
    );
  },
);

t.test('bad flags exit 2 with an error naming the flag', async (t) => {
  const base = ['--upstream', '127.0.0.1:9', '--sidecar', '127.0.0.1:9', '--region', 'eu-west'];
  const cases: Array<{ args: string[]; flag: string }> = [
    {
      args: ['--sidecar', 'atp-sidecar', '--upstream', '127.0.0.1:9', '--region', 'eu-west'],
      flag: '--sidecar',
    },
    { args: ['--sidecar', '127.0.0.1:9', '--region', 'eu-west'], flag: '--upstream' },
    { args: [...base, '--route', '/checkout=sometimes'], flag: '--route' },
    { args: [...base, '--timeout-ms', '0'], flag: '--timeout-ms' },
    { args: [...base, '--port', '70000'], flag: '--port' },
    {
      args: ['--upstream', '127.0.0.1:9', '--sidecar', '127.0.0.1:9', '--region', 'EU West'],
      flag: '--region',
    },
    { args: [...base, '--log-level', 'loud'], flag: '--log-level' },
  ];
  for (const c of cases) {
    const exited = await runDataPlaneToExit(c.args);
    t.equal(exited.code, EXIT_USAGE, `${c.flag}: exit 2`);
    t.match(exited.stderr, new RegExp(`ATP_ERR_INVALID_FLAG ${c.flag}: `), `${c.flag}: named`);
  }
});

t.test('a plugin configuration the filter refuses exits 2 naming --plugin-config', async (t) => {
  // A file whose route mode the filter does not know: the filter refuses it at start, as in Envoy.
  const file = join(tmpdir(), `atp-data-plane-${process.pid}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      sidecar_cluster: 'atp-sidecar',
      region: 'eu-west',
      routes: [{ prefix: '/checkout', mode: 'sometimes' }],
    }),
  );
  const refused = await runDataPlaneToExit([
    '--port',
    '0',
    '--upstream',
    '127.0.0.1:9',
    '--sidecar',
    '127.0.0.1:9',
    '--plugin-config',
    file,
  ]);
  t.equal(refused.code, EXIT_USAGE);
  t.match(refused.stderr, /ATP_ERR_INVALID_FLAG --plugin-config: .*routes\[0\]\.mode/);

  // --plugin-config and the flags that would build one are exclusive.
  const both = await runDataPlaneToExit([
    '--upstream',
    '127.0.0.1:9',
    '--sidecar',
    '127.0.0.1:9',
    '--plugin-config',
    file,
    '--region',
    'eu-west',
  ]);
  t.equal(both.code, EXIT_USAGE);
  t.match(both.stderr, /ATP_ERR_INVALID_FLAG --region: cannot be combined with --plugin-config/);
});
