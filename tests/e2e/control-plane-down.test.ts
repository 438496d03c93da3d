/**
 * Acceptance: the control plane killed (SIGKILL, a real process), sidecars
 * keep answering on the persisted snapshot, a sidecar restarted meanwhile
 * starts from it, and both catch up when the control plane returns.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import t, { type Test } from 'tap';
import { runAtpctl } from '../../control-plane/src/cli/atpctl.js';
import { generateSigningKeys, parsePublicKey } from '../../proto/v1/bundle-signature.js';
import { TOKENS, tempDir, waitFor } from '../control-plane/helpers/control-world.js';
import {
  DEMO_IN_STOCK_SKU,
  DEMO_SOLD_OUT_SKU,
  REGION,
  startDataPlane,
  startLinkedSidecar,
} from '../control-plane/helpers/mesh-world.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const START_TIMEOUT_MS = 30_000;
/** The client's longest backoff is 5 s: a returning control plane is seen within that plus a connection. */
const CATCH_UP_BUDGET_MS = 10_000;

interface CpProcess {
  proc: ChildProcess;
  httpPort: number;
  grpcPort: number;
}

async function startCp(t: Test, args: string[]): Promise<CpProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'control-plane/src/main.ts', 'serve', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const ports = await new Promise<{ httpPort: number; grpcPort: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`control plane did not listen: ${stderr}`)),
      START_TIMEOUT_MS,
    );
    proc.once('exit', (code) => reject(new Error(`control plane exited ${code}: ${stderr}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const j = JSON.parse(line) as { event?: string; httpPort?: number; grpcPort?: number };
        if (j.event === 'listening') {
          clearTimeout(timer);
          proc.removeAllListeners('exit');
          resolve({ httpPort: j.httpPort!, grpcPort: j.grpcPort! });
        }
      } catch {
        // not a log line
      }
    });
  });
  return { proc, ...ports };
}

async function atpctl(url: string, args: string[], token: string): Promise<number> {
  let err = '';
  const code = await runAtpctl(['--server', url, '--token', token, ...args], {
    stdout: () => undefined,
    stderr: (s) => (err += s),
    env: {},
  });
  if (code !== 0) throw new Error(`atpctl ${args.join(' ')}: ${err}`);
  return code;
}

t.test(
  'control plane killed: sidecars serve the persisted snapshot and catch up when it returns',
  async (t) => {
    // Step 1: a control plane process on a SQLite file, with tokens and a trusted key.
    const dir = tempDir(t);
    const keys = generateSigningKeys();
    writeFileSync(join(dir, 'signing.pub.pem'), keys.publicPem);
    writeFileSync(
      join(dir, 'tokens.json'),
      JSON.stringify(Object.entries(TOKENS).map(([role, token]) => ({ name: `${role}-1`, role, token }))),
    );
    const cpArgs = [
      '--db',
      `sqlite:${join(dir, 'cp.db')}`,
      '--trusted-key',
      join(dir, 'signing.pub.pem'),
      '--bootstrap-tokens',
      join(dir, 'tokens.json'),
      '--log-level',
      'warn',
    ];
    // warn level hides the listening line; ask for info once to learn the ports, then reuse them.
    const cp1 = await startCp(t, [
      ...cpArgs.slice(0, -2),
      '--log-level',
      'info',
      '--http-port',
      '0',
      '--grpc-port',
      '0',
    ]);
    const target = { url: `http://127.0.0.1:${cp1.httpPort}`, grpc: `127.0.0.1:${cp1.grpcPort}` };

    // Step 2: a linked sidecar and the filter; a region kill switch is set and applied.
    const trusted = [parsePublicKey(keys.publicPem, 'test')];
    const stateDir = join(dir, 'sidecar-state');
    const sc1 = await startLinkedSidecar(t, target, { stateDir, trustedKeys: trusted, sidecarId: 'sc-1' });
    const dp1 = await startDataPlane(t, sc1.httpPort);
    await waitFor(async () => (await dp1.checkout(DEMO_IN_STOCK_SKU)).status === 201, 10_000, 'warm path');
    t.equal((await dp1.checkout(DEMO_SOLD_OUT_SKU)).status, 409);
    await atpctl(
      target.url,
      ['killswitch', 'set', '--scope', `region:${REGION}`, '--reason', 'INC-1 before the outage'],
      TOKENS.operator,
    );
    await waitFor(
      async () => (await dp1.checkout(DEMO_SOLD_OUT_SKU)).status === 201,
      2_000,
      'kill switch applied',
    );
    await sc1.link.persistence.flush();

    // Step 3: SIGKILL the control plane. The sidecar notices and keeps answering on its snapshot.
    cp1.proc.kill('SIGKILL');
    await new Promise((r) => cp1.proc.once('exit', r));
    await waitFor(() => !sc1.link.watch.stats.connected, 5_000, 'the sidecar to notice');
    const during: number[] = [];
    for (let i = 0; i < 40; i++)
      during.push((await dp1.checkout(i % 2 === 0 ? DEMO_SOLD_OUT_SKU : DEMO_IN_STOCK_SKU)).status);
    t.same([...new Set(during)], [201], 'every checkout answered, the kill switch still in force');

    // Step 4: a sidecar restarted while the control plane is down starts from the persisted snapshot.
    await sc1.stop();
    const sc2 = await startLinkedSidecar(t, target, { stateDir, trustedKeys: trusted, sidecarId: 'sc-2' });
    t.equal(sc2.link.watch.stats.source, 'disk');
    const fs = (await (await fetch(`http://127.0.0.1:${sc2.httpPort}/v1/filter-snapshot`)).json()) as {
      killed: boolean;
      version: number;
    };
    t.same([fs.killed, fs.version], [true, 2], 'the restarted sidecar serves the last good snapshot at once');
    const dp2 = await startDataPlane(t, sc2.httpPort);
    await waitFor(async () => (await dp2.checkout(DEMO_IN_STOCK_SKU)).status === 201, 10_000, 'warm path 2');
    t.equal((await dp2.checkout(DEMO_SOLD_OUT_SKU)).status, 201, 'and the filter path honours it');
    await waitFor(() => sc2.link.watch.stats.reconnects >= 2, 5_000, 'reconnect attempts');

    // Step 5: the control plane returns on the same store and ports; a change made then reaches the sidecar.
    const t0 = performance.now();
    await startCp(t, [
      ...cpArgs.slice(0, -2),
      '--log-level',
      'info',
      '--http-port',
      String(cp1.httpPort),
      '--grpc-port',
      String(cp1.grpcPort),
    ]);
    await waitFor(() => sc2.link.watch.stats.connected, CATCH_UP_BUDGET_MS, 'the sidecar to reconnect');
    const reconnectMs = performance.now() - t0;
    await atpctl(
      target.url,
      ['killswitch', 'clear', '--scope', `region:${REGION}`, '--reason', 'INC-1 resolved'],
      TOKENS.operator,
    );
    await waitFor(
      async () => (await dp2.checkout(DEMO_SOLD_OUT_SKU)).status === 409,
      2_000,
      'the clear to apply',
    );
    t.comment(
      `control plane back: sidecar reconnected ${reconnectMs.toFixed(0)} ms after the restart began (including process start)`,
    );
    t.equal(sc2.link.watch.stats.version, 3);
    t.equal(sc2.link.watch.stats.fullSnapshots, 0, 'resumed from its persisted version with deltas');
    t.equal(sc2.link.watch.stats.invalid, 0);
  },
);
