/**
 * `npm start` end to end: start the whole local mesh exactly as a person
 * would, run the curl commands it prints, and check each gets the outcome it
 * promised. Then Ctrl-C (SIGINT to the process group) must stop it cleanly.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { REPO_ROOT } from '../helpers/fixtures.js';

const run = promisify(execFile);
const START_TIMEOUT_MS = 180_000;

t.test('npm start brings up the mesh and its printed curls behave as printed', async (t) => {
  // Step 1: start it on free ports (0) so the test never collides with a developer's mesh.
  const child = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ATP_PORT: '0',
      ATP_UPSTREAM_PORT: '0',
      ATP_SIDECAR_HTTP_PORT: '0',
      ATP_SIDECAR_GRPC_PORT: '0',
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  });

  // Step 2: wait until it prints its instructions.
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!out.includes('Ctrl-C stops everything') && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 200));
  }
  t.match(out, /Ctrl-C stops everything/, 'the mesh printed what to try');

  // Step 3: every "(expect: HTTP NNN ...)" line is followed by the curl to run.
  const lines = out.split('\n');
  const cases: { expect: number; cmd: string }[] = [];
  lines.forEach((line, i) => {
    const m = /\(expect: HTTP (\d{3})/.exec(line);
    if (m !== null) cases.push({ expect: Number(m[1]), cmd: lines[i + 1]!.trim() });
  });
  t.same(
    cases.map((c) => c.expect),
    [201, 409],
    'one allowed and one denied example are printed',
  );
  for (const c of cases) {
    t.match(c.cmd, /^curl /);
    const { stdout } = await run('sh', ['-c', c.cmd]);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(stdout)?.[1]);
    t.equal(status, c.expect, `${c.cmd.slice(0, 60)}... answered ${c.expect}`);
    if (c.expect === 201) t.match(stdout, /"atp_decision":"allow"/, 'the upstream saw the allow decision');
    if (c.expect === 409) t.match(stdout, /"error":"unavailable"/, 'the filter answered with a JSON body');
  }

  // Step 4: Ctrl-C stops it cleanly.
  process.kill(-child.pid!, 'SIGINT');
  const code = await exited;
  t.comment(`npm exited with ${code} (npm itself dies of the SIGINT, as in a terminal)`);
  t.match(out, /stopped cleanly/, 'the mesh reported a clean stop');
  const port = /data plane \(wasm filter in the emulator\)\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
  t.ok(port, 'the data plane port was printed');
  await t.rejects(
    fetch(`http://127.0.0.1:${port}/checkout`),
    'nothing listens on the data plane port any more',
  );
});
