/**
 * The sidecar dies (SIGKILL) or freezes (SIGSTOP) with checkouts paused on
 * it: every paused request must be answered within its budget by its route's
 * failure policy (DESIGN §6) — cached decision, else wide margin, else a
 * retryable 503 — never left waiting. A real process behind the local data
 * plane (real HTTP, real connection resets and timeouts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import t, { type Test } from 'tap';
import { createLocalDataPlane } from '../../wasm-filter/emulator/index.js';
import { OUT_PATH } from '../../wasm-filter/scripts/build.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { postCheckout, startEchoUpstream } from './helpers/echo-upstream.js';
import { BASE_CONFIG, filterModule } from './helpers/filter-harness.js';

/** tick period (20 ms) + pause slack (30 ms) of the filter, and a margin for a loaded 2-core box. */
const TICK_AND_SLACK_MS = 50;
const LOADED_BOX_SLACK_MS = 400;
const STAND_IN_START_TIMEOUT_MS = 30_000;

interface StandIn {
  proc: ChildProcess;
  port: number;
  /** Resolves once `n` requests are held (paused at the sidecar). */
  held(n: number): Promise<void>;
}

async function startStandIn(t: Test): Promise<StandIn> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'tests/wasm-filter/helpers/sidecar-stand-in.ts'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let heldCount = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the stand-in did not start')),
      STAND_IN_START_TIMEOUT_MS,
    );
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const listening = /^listening (\d+)$/.exec(line);
      if (listening !== null) {
        clearTimeout(timer);
        resolve(Number(listening[1]));
      }
      if (line.startsWith('held ')) {
        heldCount++;
        for (const w of waiters.filter((x) => heldCount >= x.n)) w.resolve();
      }
    });
  });
  return {
    proc,
    port,
    held: (n) =>
      heldCount >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
  };
}

async function startPlane(t: Test, sidecarPort: number, timeoutMs: number) {
  await filterModule();
  const upstream = await startEchoUpstream();
  const plane = createLocalDataPlane({
    port: 0,
    wasmPath: OUT_PATH,
    pluginConfig: {
      ...BASE_CONFIG,
      timeout_ms: timeoutMs,
      // Cached denies only stand in for a failed call here, so every basket reaches the sidecar.
      deny_fast_path_ttl_ms: 0,
      routes: [
        { prefix: '/checkout/strict', mode: 'enforce', on_sidecar_failure: 'deny_retryable' },
        { prefix: '/checkout', mode: 'enforce' },
      ],
    },
    upstream: { host: '127.0.0.1', port: upstream.port },
    clusters: { 'atp-sidecar': { host: '127.0.0.1', port: sidecarPort } },
    logLevel: 'error',
  });
  const { port } = await plane.start();
  t.teardown(async () => {
    await plane.stop();
    await upstream.close();
  });
  return { port, plane };
}

/** Baskets and the answer the default policy must give each once the sidecar is gone. */
const CASES = [
  {
    why: 'cached allow',
    path: '/checkout',
    items: [{ sku: 'ALLOW-1', qty: 1 }],
    status: 201,
    reason: 'CACHED_DECISION',
  },
  {
    why: 'cached deny',
    path: '/checkout',
    items: [{ sku: 'OOS-1', qty: 1 }],
    status: 409,
    reason: 'CACHED_DECISION',
  },
  {
    why: 'wide margin',
    path: '/checkout',
    items: [{ sku: 'WIDE-1', qty: 2 }],
    status: 201,
    reason: 'WIDE_MARGIN',
  },
  {
    why: 'nothing known',
    path: '/checkout',
    items: [{ sku: 'NEW-1', qty: 1 }],
    status: 503,
    reason: undefined,
  },
  {
    why: 'strict route',
    path: '/checkout/strict',
    items: [{ sku: 'ALLOW-1', qty: 1 }],
    status: 503,
    reason: undefined,
  },
] as const;

/** While the sidecar is healthy: one allow, one deny and one wide margin on record. */
async function warmUp(port: number): Promise<void> {
  for (const items of [
    [{ sku: 'ALLOW-1', qty: 1 }],
    [{ sku: 'OOS-1', qty: 1 }],
    [{ sku: 'WIDE-1', qty: 1 }],
  ]) {
    await postCheckout(port, items, { zone: 'DE-10' });
  }
  await postCheckout(port, [{ sku: 'ALLOW-1', qty: 1 }], { zone: 'DE-10', path: '/checkout/strict' });
}

function expectPolicy(
  t: Test,
  answer: Awaited<ReturnType<typeof postCheckout>>,
  c: (typeof CASES)[number],
): void {
  t.equal(answer.status, c.status, `${c.why}: ${c.status}`);
  if (c.status === 201) t.equal((answer.body.atp as Record<string, string>)['x-atp-reason'], c.reason, c.why);
  if (c.status === 409) t.equal(answer.body.reason, c.reason, c.why);
  if (c.status === 503) t.same(answer.body, { error: 'atp_unavailable', retryable: true }, c.why);
}

t.test(
  'a sidecar killed with checkouts paused on it: each is answered at once by its route policy',
  async (t) => {
    // The stand-in sidecar and the data plane (timeout 1 s: the kill comes well before it).
    const timeoutMs = 1000;
    const standIn = await startStandIn(t);
    const { port, plane } = await startPlane(t, standIn.port, timeoutMs);
    await warmUp(port);

    // One checkout per case, held by the sidecar: all paused in the filter.
    const answers = CASES.map((c, i) =>
      postCheckout(port, [...c.items], { zone: 'DE-10', path: c.path, requestId: `hold-${i}` }),
    );
    await standIn.held(CASES.length);

    // SIGKILL: the connections reset; each paused checkout gets its policy's answer, within its budget.
    standIn.proc.kill('SIGKILL');
    const settled = await Promise.all(answers);
    settled.forEach((answer, i) => {
      const c = CASES[i]!;
      expectPolicy(t, answer, c);
      t.ok(
        answer.elapsedMs < timeoutMs + TICK_AND_SLACK_MS + LOADED_BOX_SLACK_MS,
        `${c.why}: ${Math.round(answer.elapsedMs)} ms`,
      );
    });

    // Checkouts sent after the death (connection refused) get the same answers.
    for (const c of CASES) {
      if (c.reason === 'WIDE_MARGIN') continue; // its margin is being spent; covered above
      expectPolicy(t, await postCheckout(port, [...c.items], { zone: 'DE-10', path: c.path }), c);
    }
    t.same(plane.vm?.traps, []);
  },
);

t.test(
  'a frozen sidecar: paused checkouts are answered by their route policy when the call times out',
  async (t) => {
    // The stand-in and the data plane with a 200 ms budget.
    const timeoutMs = 200;
    const standIn = await startStandIn(t);
    const { port, plane } = await startPlane(t, standIn.port, timeoutMs);
    await warmUp(port);

    // The sidecar freezes (SIGSTOP): its socket accepts, but nothing answers.
    standIn.proc.kill('SIGSTOP');
    t.teardown(() => standIn.proc.kill('SIGKILL'));

    // Every checkout is answered by its policy within timeout_ms + tick + slack.
    const settled = await Promise.all(
      CASES.map((c, i) =>
        postCheckout(port, [...c.items], { zone: 'DE-10', path: c.path, requestId: `frozen-${i}` }),
      ),
    );
    settled.forEach((answer, i) => {
      const c = CASES[i]!;
      expectPolicy(t, answer, c);
      t.ok(
        answer.elapsedMs < timeoutMs + TICK_AND_SLACK_MS + LOADED_BOX_SLACK_MS,
        `${c.why}: ${Math.round(answer.elapsedMs)} ms`,
      );
    });
    t.same(plane.vm?.traps, []);
  },
);
