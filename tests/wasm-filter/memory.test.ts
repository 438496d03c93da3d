import t from 'tap';
import {
  checkoutHeaders,
  FakeClock,
  filterSnapshot,
  IN_STOCK_BODY,
  OUT_OF_STOCK_BODY,
  pullSnapshot,
  sendCheckout,
  startFilter,
  stockSidecar,
} from './helpers/filter-harness.js';

const WARMUP_REQUESTS = 1_000;
const MEASURED_REQUESTS = 4_000;
/** A snapshot pull every this many requests, alternating between two snapshots (each pull re-parses). */
const REQUESTS_PER_SNAPSHOT = 50;

t.test('the filter does not leak memory across many requests and snapshot changes', async (t) => {
  // Start the filter (one VM, like one Envoy worker that lives for weeks) with a sidecar serving snapshots.
  const clock = new FakeClock();
  const sidecar = stockSidecar();
  const vm = await startFilter({ sidecar: sidecar.handler, now: clock.now });
  t.teardown(() => vm.close());
  const snapshots = [
    filterSnapshot({ version: 1, held_skus: ['HELD-1'] }),
    filterSnapshot({ version: 2, killed_skus: ['KILLED-1'], rules_version: 'rules-4' }),
  ];
  const held = JSON.stringify({ items: [{ sku: 'HELD-1', qty: 1 }], buyer_zone: 'DE-10' });
  const bodies = [IN_STOCK_BODY, OUT_OF_STOCK_BODY, held, '{"items":[{"sku":"A","qty":0}]}', 'not json'];
  let sent = 0;
  const run = async (n: number) => {
    for (let i = 0; i < n; i++, sent++) {
      if (sent % REQUESTS_PER_SNAPSHOT === 0) {
        sidecar.snapshot = snapshots[(sent / REQUESTS_PER_SNAPSHOT) % 2];
        await pullSnapshot(vm, clock);
      }
      const { stream } = await sendCheckout(vm, bodies[i % bodies.length] ?? '', checkoutHeaders());
      stream.end();
    }
  };

  // Warm up: let the allocator reach its working size.
  await run(WARMUP_REQUESTS);
  const warm = vm.guestMemory.size;

  // Many more requests of every kind (allow, deny, cached deny, hold, 400s) and 80 snapshot changes
  // leave the memory size unchanged.
  await run(MEASURED_REQUESTS);
  t.equal(vm.guestMemory.size, warm, `memory stayed at ${warm} bytes`);
  t.ok(
    sidecar.snapshotPulls >= (WARMUP_REQUESTS + MEASURED_REQUESTS) / REQUESTS_PER_SNAPSHOT,
    'snapshots were pulled',
  );
  t.same(vm.traps, []);
});
