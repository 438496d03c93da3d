/**
 * Control reaches the filter within 2 s (issue 6): the real sidecar
 * (createSidecar, in-memory stores) behind the local data plane running the
 * real filter, its ControlState changed the way the control-plane watch
 * changes it, and checkouts sent until the change shows.
 */
import t, { type Test } from 'tap';
import { type ControlSnapshot, defaultControlSnapshot } from '../../proto/v1/control-snapshot.js';
import { createLocalDataPlane } from '../../wasm-filter/emulator/index.js';
import { OUT_PATH } from '../../wasm-filter/scripts/build.js';
import { tinySidecar } from '../helpers/tiny-world.js';
import { postCheckout, startEchoUpstream } from './helpers/echo-upstream.js';
import { BASE_CONFIG, filterModule } from './helpers/filter-harness.js';

/** The promise: a kill switch takes effect mesh-wide within this. */
const KILL_SWITCH_SLO_MS = 2000;
const POLL_EVERY_MS = 50;
const IN_STOCK = [{ sku: 'IN-STOCK', qty: 1 }];

async function startMesh(t: Test) {
  await filterModule(); // builds the .wasm when missing or stale
  const sidecar = tinySidecar();
  const { httpPort } = await sidecar.start();
  const upstream = await startEchoUpstream();
  const plane = createLocalDataPlane({
    port: 0,
    wasmPath: OUT_PATH,
    pluginConfig: { ...BASE_CONFIG, timeout_ms: 1000 },
    upstream: { host: '127.0.0.1', port: upstream.port },
    clusters: { 'atp-sidecar': { host: '127.0.0.1', port: httpPort } },
    logLevel: 'warn',
  });
  const { port } = await plane.start();
  t.teardown(async () => {
    await plane.stop();
    await upstream.close();
    await sidecar.stop();
  });
  return { sidecar, upstream, plane, port };
}

/** Sends checkouts until `done` says the answer shows the change; returns how long that took. */
async function msUntil(
  port: number,
  done: (answer: Awaited<ReturnType<typeof postCheckout>>) => boolean,
  items = IN_STOCK,
): Promise<number> {
  const started = performance.now();
  let n = 0;
  while (performance.now() - started < KILL_SWITCH_SLO_MS * 3) {
    const answer = await postCheckout(port, items, { requestId: `probe-${n++}` });
    if (done(answer)) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, POLL_EVERY_MS));
  }
  return Number.POSITIVE_INFINITY;
}

function withChanges(version: number, changes: Partial<ControlSnapshot>): ControlSnapshot {
  return { ...defaultControlSnapshot('rules-only'), version, contentHash: `test-${version}`, ...changes };
}

t.test(
  'a kill switch flipped in the sidecar takes effect in the filter within 2 s, and so does its release',
  async (t) => {
    // The mesh is up and an in-stock checkout is decided by the sidecar.
    const { sidecar, port } = await startMesh(t);
    const first = await postCheckout(port, IN_STOCK);
    t.equal(first.status, 201);
    t.match(first.body, { atp: { 'x-atp-decision': 'allow' } });

    // The operator sets the global kill switch: the filter bypasses ATP within 2 s.
    sidecar.control.setSnapshot(
      withChanges(2, { killSwitches: [{ scope: 'global', target: '', reason: 'test' }] }),
    );
    const killMs = await msUntil(
      port,
      (a) => (a.body.atp as Record<string, string>)?.['x-atp-decision'] === 'bypass',
    );
    t.ok(killMs < KILL_SWITCH_SLO_MS, `kill switch in force after ${Math.round(killMs)} ms`);

    // Releasing it restores the decisions within 2 s too.
    sidecar.control.setSnapshot(withChanges(3, {}));
    const releaseMs = await msUntil(
      port,
      (a) => (a.body.atp as Record<string, string>)?.['x-atp-decision'] === 'allow',
    );
    t.ok(releaseMs < KILL_SWITCH_SLO_MS, `released after ${Math.round(releaseMs)} ms`);
  },
);

t.test('a compliance hold set in the sidecar is enforced by the filter itself within 2 s', async (t) => {
  // The mesh is up.
  const { sidecar, port } = await startMesh(t);

  // A hold on IN-STOCK: the filter answers 409 COMPLIANCE_HOLD within 2 s.
  sidecar.control.setSnapshot(withChanges(2, { holds: [{ sku: 'IN-STOCK', reason: 'recall' }] }));
  const holdMs = await msUntil(port, (a) => a.status === 409 && a.body.reason === 'COMPLIANCE_HOLD');
  t.ok(holdMs < KILL_SWITCH_SLO_MS, `hold in force after ${Math.round(holdMs)} ms`);
});
