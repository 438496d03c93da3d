import t from 'tap';
import {
  checkoutHeaders,
  IN_STOCK_BODY,
  OUT_OF_STOCK_BODY,
  sendCheckout,
  startFilter,
} from './helpers/filter-harness.js';

const WARMUP_REQUESTS = 1_000;
const MEASURED_REQUESTS = 4_000;

t.test('the filter does not leak memory across many requests', async (t) => {
  // Start the filter (one VM, like one Envoy worker that lives for weeks).
  const vm = await startFilter();
  t.teardown(() => vm.close());
  const bodies = [IN_STOCK_BODY, OUT_OF_STOCK_BODY, '{"items":[{"sku":"A","qty":0}]}', 'not json'];
  const run = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const { stream } = await sendCheckout(vm, bodies[i % bodies.length] ?? '', checkoutHeaders());
      stream.end();
    }
  };

  // Warm up: let the allocator reach its working size.
  await run(WARMUP_REQUESTS);
  const warm = vm.guestMemory.size;

  // Many more requests of every kind (allow, deny, 400s) leave the memory size unchanged.
  await run(MEASURED_REQUESTS);
  t.equal(vm.guestMemory.size, warm, `memory stayed at ${warm} bytes`);
  t.same(vm.traps, []);
});
