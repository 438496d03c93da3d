/**
 * DESIGN.md §6 "model failing: latency": a ranker that stops answering in
 * time is abandoned per request (the rule scorer answers, flagged `model`),
 * within the caller's deadline; after INFERENCE_FAILURES_TO_OPEN slow runs
 * the model is skipped without waiting, and it is probed again after
 * MODEL_COOLDOWN_MS. The ranker under test is a real onnxruntime session
 * wrapped with an injected delay.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { createOnnxRanker } from '../../sidecar/src/adapters/onnx/onnx-ranker.js';
import { INFERENCE_FAILURES_TO_OPEN, MODEL_COOLDOWN_MS } from '../../sidecar/src/model/model-guard.js';
import type { DisposableRanker } from '../../sidecar/src/model/model-registry.js';
import { testBundle } from '../helpers/model-bundle.js';
import { checkout, worldSidecar } from '../helpers/sidecar-world.js';

const TIMEOUT_MS = 20;
const INJECTED_DELAY_MS = 300;

t.test('a slow model is abandoned for the rule scorer, flagged, within the deadline', async (t) => {
  const fault = { delayMs: 0 };
  const sc = worldSidecar({
    inferenceTimeoutMs: TIMEOUT_MS,
    loadRanker: async (b): Promise<DisposableRanker> => {
      const real = await createOnnxRanker(b);
      // No scoreSync: the engine must race the asynchronous run against its budget.
      return {
        version: real.version,
        score: async (f, rows) => {
          if (fault.delayMs > 0) await sleep(fault.delayMs);
          return real.score(f, rows);
        },
        dispose: () => real.dispose(),
      };
    },
  });
  await sc.models.loadAndActivate(testBundle());
  const healthy = await sc.engine.check(checkout('IN-STOCK', 1));
  t.equal(healthy.modelVersion, 'gbdt-test-1');
  t.same(healthy.degradations, []);

  fault.delayMs = INJECTED_DELAY_MS;
  const t0 = performance.now();
  const slow = await sc.engine.check(checkout('IN-STOCK', 1, 'r-2'), { deadlineAt: performance.now() + 100 });
  const took = performance.now() - t0;
  t.ok(
    took < INJECTED_DELAY_MS / 2,
    `answered in ${took.toFixed(1)} ms, not after the ${INJECTED_DELAY_MS} ms run`,
  );
  t.same(slow.degradations, ['model']);
  t.equal(slow.modelVersion, 'gbdt-test-1', 'the loaded model is still reported');
  t.equal(slow.decision, 'allow', 'rules promise the well-stocked nodes');
  t.ok(
    slow.items[0]!.options.every((o) => o.pFulfill === 0.95),
    'with the rule scorer p',
  );

  for (let i = 1; i < INFERENCE_FAILURES_TO_OPEN; i++)
    await sc.engine.check(checkout('IN-STOCK', 1, `r-x${i}`));
  const t1 = performance.now();
  const open = await sc.engine.check(checkout('IN-STOCK', 1, 'r-open'));
  t.ok(performance.now() - t1 < TIMEOUT_MS, 'circuit open: the model is not even tried');
  t.same(open.degradations, ['model']);

  fault.delayMs = 0;
  await sleep(MODEL_COOLDOWN_MS + 100);
  const back = await sc.engine.check(checkout('IN-STOCK', 1, 'r-back'));
  t.same(back.degradations, [], 'after the cooldown a probe succeeds and the model answers again');
});
