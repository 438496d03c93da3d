import t from 'tap';
import { rolloutBucket as sidecarRolloutBucket } from '../../sidecar/src/control/control-state.js';
import {
  BASE_CONFIG,
  FakeClock,
  filterSnapshot,
  headersWithId,
  IN_STOCK_BODY,
  pullSnapshot,
  rolloutBucket,
  startFilter,
  stockSidecar,
} from './helpers/filter-harness.js';

const REQUESTS = 200;
const ids = Array.from({ length: REQUESTS }, (_, i) => `req-${i}-${(i * 7919) % 1000}`);

/** Sends one checkout per id; returns the ids the filter intercepted (asked the sidecar about). */
async function intercepted(
  vm: Awaited<ReturnType<typeof startFilter>>,
  sidecar: ReturnType<typeof stockSidecar>,
) {
  for (const id of ids) {
    const stream = vm.newHttpStream();
    stream.requestHeaders(headersWithId(id), false);
    stream.requestBody(IN_STOCK_BODY, true);
    await stream.settled();
    stream.end();
  }
  return new Set(sidecar.requests.map((r) => r.request_id));
}

t.test(
  'a partial rollout applies the mode exactly to the requests whose id hashes below rollout_pct',
  async (t) => {
    // The configuration rolls /checkout out to 30 % of requests.
    const sidecar = stockSidecar();
    const vm = await startFilter({
      sidecar: sidecar.handler,
      config: { ...BASE_CONFIG, routes: [{ prefix: '/checkout', mode: 'enforce', rollout_pct: 30 }] },
    });
    t.teardown(() => vm.close());

    // The intercepted ids are exactly those with FNV-1a(id) % 100 < 30; the others passed untouched.
    const asked = await intercepted(vm, sidecar);
    const expected = new Set(ids.filter((id) => rolloutBucket(id) < 30));
    t.same([...asked].sort(), [...expected].sort());
    t.ok(
      asked.size > REQUESTS * 0.15 && asked.size < REQUESTS * 0.45,
      `${asked.size} of ${REQUESTS} intercepted`,
    );
  },
);

t.test("the snapshot's rollout percentage overrides the configuration's", async (t) => {
  // The configuration says 100 %, the snapshot 60 %.
  const clock = new FakeClock();
  const sidecar = stockSidecar();
  sidecar.snapshot = filterSnapshot({ routes: [{ prefix: '/checkout', mode: 'enforce', rollout_pct: 60 }] });
  const vm = await startFilter({ sidecar: sidecar.handler, now: clock.now });
  t.teardown(() => vm.close());
  await pullSnapshot(vm, clock);

  // The snapshot's share applies.
  const asked = await intercepted(vm, sidecar);
  t.same([...asked].sort(), ids.filter((id) => rolloutBucket(id) < 60).sort());
});

t.test('a rollout of 0 % intercepts nothing', async (t) => {
  // The route is enforced for no one.
  const sidecar = stockSidecar();
  const vm = await startFilter({
    sidecar: sidecar.handler,
    config: { ...BASE_CONFIG, routes: [{ prefix: '/checkout', mode: 'enforce', rollout_pct: 0 }] },
  });
  t.teardown(() => vm.close());

  // Nobody is intercepted.
  t.equal((await intercepted(vm, sidecar)).size, 0);
});

t.test("the filter's rollout bucket is the sidecar's, so both agree on who is in a rollout", async (t) => {
  // Ids of every shape the filter accepts, including long ones.
  const sample = [...ids, 'a', 'Z9', 'x'.repeat(128), 'atp-00000000deadbeef-1-42', 'k:v.w_x-y'];

  // The test's FNV-1a matches the sidecar's bucket function id for id (and the filter's, shown above).
  for (const id of sample) t.equal(rolloutBucket(id), sidecarRolloutBucket(id), id);
});
