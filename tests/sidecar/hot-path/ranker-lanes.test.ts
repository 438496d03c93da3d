import t from 'tap';
import type { Ranker } from '../../../sidecar/src/decision/ports.js';
import { INFERENCE_FAILURES_TO_OPEN, ModelGuard } from '../../../sidecar/src/model/model-guard.js';

/** A ranker whose runs take `ms` of CPU (a synchronous runtime, like onnxruntime's native run). */
function busyRanker(ms: number): Ranker {
  const scoreSync = (_f: Float32Array, rows: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      // spin: the run occupies the core
    }
    return new Float32Array(rows).fill(0.5);
  };
  return { version: 'busy', scoreSync, score: async (f, rows) => scoreSync(f, rows) };
}

t.test('slow product pages open the browse breaker only; checkouts keep the model', async (t) => {
  const guard = new ModelGuard(5);
  const slow = busyRanker(30);
  const fast = busyRanker(0);
  const batch = new Float32Array(64);
  for (let i = 0; i < INFERENCE_FAILURES_TO_OPEN; i++) {
    const r = await guard.rank(slow, batch, 100, Number.POSITIVE_INFINITY, 'browse');
    t.equal(r.ok ? 'ok' : r.cause, 'timeout', `browse page ${i + 1} timed out`);
  }
  const page = await guard.rank(fast, batch, 100, Number.POSITIVE_INFINITY, 'browse');
  t.equal(page.ok ? 'ok' : page.cause, 'circuit-open', 'the browse lane is open');
  const buy = await guard.rank(fast, batch, 3, Number.POSITIVE_INFINITY, 'checkout');
  t.ok(buy.ok, 'a checkout is still ranked by the model');
  const unnamed = await guard.rank(fast, batch, 3, Number.POSITIVE_INFINITY);
  t.ok(unnamed.ok, 'a run naming no lane is a checkout');
});

t.test('a browse page gets a budget that grows with its rows, within a cap', async (t) => {
  // 6 ms of spin: always over the 5 ms checkout budget; inside the 20 ms a 2,000-row page gets
  // (2,000 x 0.01 ms) unless the loaded machine preempts the run for 14 ms, so up to five tries.
  const run = busyRanker(6);
  const buy = await new ModelGuard(5).rank(
    run,
    new Float32Array(64),
    3,
    Number.POSITIVE_INFINITY,
    'checkout',
  );
  t.equal(buy.ok ? 'ok' : buy.cause, 'timeout', 'the run is over the checkout budget');
  let ranked = false;
  for (let i = 0; i < 5 && !ranked; i++) {
    const page = await new ModelGuard(5).rank(
      run,
      new Float32Array(64),
      2_000,
      Number.POSITIVE_INFINITY,
      'browse',
    );
    ranked = page.ok;
  }
  t.ok(ranked, 'the same run fits a 2,000-row page budget');
});
