import t from 'tap';
import { SharedDataStore } from '../../wasm-filter/emulator/index.js';
import {
  checkoutHeaders,
  FakeClock,
  filterSnapshot,
  header,
  headersWithId,
  OUT_OF_STOCK_BODY,
  pullSnapshot,
  replyJson,
  sendCheckout,
  startFilter,
  stockSidecar,
} from './helpers/filter-harness.js';

const HELD_BODY = JSON.stringify({
  items: [
    { sku: 'SKU-00001', qty: 1 },
    { sku: 'HELD-1', qty: 1 },
  ],
  buyer_zone: 'DE-10',
});

t.test('a global kill switch turns checkout into a bypass at once, without reading the body', async (t) => {
  // Start the filter with a sidecar whose snapshot has the global kill switch set.
  const clock = new FakeClock();
  const sidecar = stockSidecar();
  sidecar.snapshot = filterSnapshot({ killed: true });
  const vm = await startFilter({ sidecar: sidecar.handler, now: clock.now });
  t.teardown(() => vm.close());

  // The first tick pulls the snapshot.
  await pullSnapshot(vm, clock);
  t.equal(sidecar.snapshotPulls, 1);

  // A checkout continues from its headers alone, marked bypass; the sidecar is not asked.
  const stream = vm.newHttpStream();
  const state = stream.requestHeaders(checkoutHeaders(), false);
  if (state.kind !== 'continued') throw t.fail(`expected continued, got ${state.kind}`);
  t.equal(header(state.headers, 'x-atp-decision'), 'bypass');
  t.equal(header(state.headers, 'x-atp-reason'), 'KILL_SWITCH');
  stream.requestBody(OUT_OF_STOCK_BODY, true);
  t.equal(Buffer.from(stream.upstreamRequest.body).toString(), OUT_OF_STOCK_BODY, 'the body streams through');
  await vm.idle();
  t.equal(sidecar.calls.length, 0);
  t.equal(vm.metrics.value('atp_filter.decisions_bypass'), 1n);
  t.same(vm.traps, []);
});

t.test('a route kill switch bypasses that route only', async (t) => {
  // Two enforcing routes; the snapshot kills /checkout/express.
  const clock = new FakeClock();
  const sidecar = stockSidecar();
  sidecar.snapshot = filterSnapshot({ killed_routes: ['/checkout/express'] });
  const vm = await startFilter({ sidecar: sidecar.handler, now: clock.now });
  t.teardown(() => vm.close());
  await pullSnapshot(vm, clock);

  // /checkout/express passes as bypass; /checkout still enforces the sidecar's deny.
  const express = await sendCheckout(vm, OUT_OF_STOCK_BODY, checkoutHeaders([], '/checkout/express'));
  if (express.state.kind !== 'continued') throw t.fail(`expected continued, got ${express.state.kind}`);
  t.equal(header(express.state.headers, 'x-atp-decision'), 'bypass');
  const normal = await sendCheckout(vm, OUT_OF_STOCK_BODY);
  t.equal(normal.state.kind === 'local-reply' && normal.state.status, 409);
  t.equal(sidecar.calls.length, 1, 'only the live route asked the sidecar');
});

t.test('a compliance hold denies the basket locally with 409 COMPLIANCE_HOLD', async (t) => {
  // The snapshot holds HELD-1.
  const clock = new FakeClock();
  const sidecar = stockSidecar();
  sidecar.snapshot = filterSnapshot({ held_skus: ['HELD-1'] });
  const vm = await startFilter({ sidecar: sidecar.handler, now: clock.now });
  t.teardown(() => vm.close());
  await pullSnapshot(vm, clock);

  // A basket with the held SKU is refused by the filter itself, naming the SKU.
  const { stream, state } = await sendCheckout(vm, HELD_BODY);
  if (state.kind !== 'local-reply') throw t.fail(`expected a local reply, got ${state.kind}`);
  t.equal(state.status, 409);
  t.match(replyJson(state), {
    error: 'unavailable',
    reason: 'COMPLIANCE_HOLD',
    sku: 'HELD-1',
    decision_id: 'flt-req-0001',
  });
  t.equal(header(state.headers, 'x-atp-reason'), 'COMPLIANCE_HOLD');
  t.equal(stream.localReplyRequests, 1);

  // The sidecar was never asked; the hold is counted.
  await vm.idle();
  t.equal(sidecar.calls.length, 0);
  t.equal(vm.metrics.value('atp_filter.compliance_holds'), 1n);
  t.equal(vm.metrics.value('atp_filter.decisions_deny'), 1n);
});

t.test('in shadow mode a hold annotates the request instead of blocking it', async (t) => {
  // The snapshot holds HELD-1 and puts /checkout in shadow mode.
  const clock = new FakeClock();
  const sidecar = stockSidecar();
  sidecar.snapshot = filterSnapshot({
    held_skus: ['HELD-1'],
    routes: [{ prefix: '/checkout', mode: 'shadow', rollout_pct: 100 }],
  });
  const vm = await startFilter({ sidecar: sidecar.handler, now: clock.now });
  t.teardown(() => vm.close());
  await pullSnapshot(vm, clock);

  // The request continues, marked shadow-deny with the hold as reason.
  const { state } = await sendCheckout(vm, HELD_BODY);
  if (state.kind !== 'continued') throw t.fail(`expected continued, got ${state.kind}`);
  t.equal(header(state.headers, 'x-atp-decision'), 'shadow-deny');
  t.equal(header(state.headers, 'x-atp-reason'), 'COMPLIANCE_HOLD');
  t.equal(sidecar.calls.length, 0);
});

t.test('holds still apply under a kill switch, as in the sidecar; other baskets bypass', async (t) => {
  // The snapshot kills ATP globally and holds HELD-1.
  const clock = new FakeClock();
  const sidecar = stockSidecar();
  sidecar.snapshot = filterSnapshot({ killed: true, held_skus: ['HELD-1'] });
  const vm = await startFilter({ sidecar: sidecar.handler, now: clock.now });
  t.teardown(() => vm.close());
  await pullSnapshot(vm, clock);

  // The held basket is refused; an out-of-stock one passes as bypass; a bad body passes too (ATP is off).
  const held = await sendCheckout(vm, HELD_BODY);
  t.equal(held.state.kind === 'local-reply' && held.state.status, 409);
  const oos = await sendCheckout(vm, OUT_OF_STOCK_BODY);
  if (oos.state.kind !== 'continued') throw t.fail(`expected continued, got ${oos.state.kind}`);
  t.equal(header(oos.state.headers, 'x-atp-decision'), 'bypass');
  const bad = await sendCheckout(vm, '{"items":');
  if (bad.state.kind !== 'continued') throw t.fail(`expected continued, got ${bad.state.kind}`);
  t.equal(header(bad.state.headers, 'x-atp-decision'), 'bypass');
  t.equal(sidecar.calls.length, 0);
});

t.test('SKUs with a kill switch leave the basket; a basket of only killed SKUs bypasses', async (t) => {
  // The snapshot kills OOS-00009 (the SKU the sidecar would deny).
  const clock = new FakeClock();
  const sidecar = stockSidecar();
  sidecar.snapshot = filterSnapshot({ killed_skus: ['OOS-00009'] });
  const vm = await startFilter({ sidecar: sidecar.handler, now: clock.now });
  t.teardown(() => vm.close());
  await pullSnapshot(vm, clock);

  // A basket of the killed SKU alone passes as bypass without a sidecar call.
  const alone = await sendCheckout(vm, OUT_OF_STOCK_BODY);
  if (alone.state.kind !== 'continued') throw t.fail(`expected continued, got ${alone.state.kind}`);
  t.equal(header(alone.state.headers, 'x-atp-decision'), 'bypass');
  t.equal(sidecar.calls.length, 0);

  // Mixed with a live SKU, only the live one is asked about — and allowed.
  const mixed = JSON.stringify({
    items: [
      { sku: 'OOS-00009', qty: 1 },
      { sku: 'SKU-00001', qty: 2 },
    ],
    buyer_zone: 'DE-10',
  });
  const { state } = await sendCheckout(vm, mixed);
  if (state.kind !== 'continued') throw t.fail(`expected continued, got ${state.kind}`);
  t.equal(header(state.headers, 'x-atp-decision'), 'allow');
  t.same(sidecar.requests[0]?.items, [{ sku: 'SKU-00001', qty: 2 }]);
});

t.test("the snapshot's mode for a route overrides the plugin configuration's", async (t) => {
  // The configuration enforces /checkout; the snapshot first says shadow.
  const clock = new FakeClock();
  const sidecar = stockSidecar();
  sidecar.snapshot = filterSnapshot({ routes: [{ prefix: '/checkout', mode: 'shadow', rollout_pct: 100 }] });
  const vm = await startFilter({ sidecar: sidecar.handler, now: clock.now });
  t.teardown(() => vm.close());

  // Before the first pull the configuration applies: a deny is enforced.
  const before = await sendCheckout(vm, OUT_OF_STOCK_BODY);
  t.equal(before.state.kind === 'local-reply' && before.state.status, 409);

  // After it, the same basket only annotates.
  await pullSnapshot(vm, clock);
  const shadow = await sendCheckout(vm, OUT_OF_STOCK_BODY, headersWithId('req-2'));
  if (shadow.state.kind !== 'continued') throw t.fail(`expected continued, got ${shadow.state.kind}`);
  t.equal(header(shadow.state.headers, 'x-atp-decision'), 'shadow-deny');

  // The snapshot then switches the route off: the request passes untouched, no annotation.
  sidecar.snapshot = filterSnapshot({
    version: 2,
    routes: [{ prefix: '/checkout', mode: 'off', rollout_pct: 100 }],
  });
  await pullSnapshot(vm, clock);
  const stream = vm.newHttpStream();
  const off = stream.requestHeaders(checkoutHeaders(), false);
  if (off.kind !== 'continued') throw t.fail(`expected continued, got ${off.kind}`);
  t.equal(header(off.headers, 'x-atp-decision'), undefined);
});

t.test('a failing or invalid snapshot keeps the last good one in force', async (t) => {
  // The filter adopts a snapshot with the kill switch set.
  const clock = new FakeClock();
  const sidecar = stockSidecar();
  sidecar.snapshot = filterSnapshot({ killed: true });
  const vm = await startFilter({ sidecar: sidecar.handler, now: clock.now });
  t.teardown(() => vm.close());
  await pullSnapshot(vm, clock);

  // The sidecar then serves garbage, snapshots with a missing or wrong field, and then nothing at all.
  const served: Array<string | undefined> = [
    'not json',
    JSON.stringify({ ...filterSnapshot(), held_skus: undefined }),
    JSON.stringify({ ...filterSnapshot(), killed: 'no' }),
    JSON.stringify({
      ...filterSnapshot(),
      routes: [{ prefix: 'checkout', mode: 'enforce', rollout_pct: 100 }],
    }),
    JSON.stringify({ ...filterSnapshot(), held_skus: ['bad sku'] }),
    `{"version":1,"held_skus":[${'"S",'.repeat(300_000)}"S"]}`,
    undefined,
  ];
  for (const body of served) {
    sidecar.snapshot = body;
    await pullSnapshot(vm, clock);
  }

  // The kill switch is still in force: the checkout bypasses.
  const stream = vm.newHttpStream();
  const state = stream.requestHeaders(checkoutHeaders(), false);
  t.equal(state.kind === 'continued' && header(state.headers, 'x-atp-decision'), 'bypass');

  // Each failure was counted, but logged once (no log line per poll).
  t.equal(vm.metrics.value('atp_filter.snapshot_fetch_failures'), BigInt(served.length));
  const warnings = vm.logs.filter((l) => l.level === 'warn' && l.message.includes('snapshot fetch failed'));
  t.equal(warnings.length, 1);
  t.match(warnings[0]?.message, /keeping the last good snapshot/);
  t.same(vm.traps, []);
});

t.test('a snapshot pulled by one worker reaches the other workers through shared data', async (t) => {
  // Two workers (VMs) share one shared-data store; only worker A's sidecar serves snapshots.
  const clock = new FakeClock();
  const sharedData = new SharedDataStore();
  const serving = stockSidecar();
  serving.snapshot = filterSnapshot({ killed: true, version: 7 });
  const silent = stockSidecar();
  const a = await startFilter({ sidecar: serving.handler, now: clock.now, sharedData });
  const b = await startFilter({ sidecar: silent.handler, now: clock.now, sharedData });
  t.teardown(() => {
    a.close();
    b.close();
  });

  // Worker A pulls the snapshot; worker B's own pull fails, but its tick adopts A's from shared data.
  await pullSnapshot(a, clock);
  await pullSnapshot(b, clock);
  t.equal(silent.snapshotPulls, 1, 'B asked its sidecar too');
  const stream = b.newHttpStream();
  const state = stream.requestHeaders(checkoutHeaders(), false);
  t.equal(state.kind === 'continued' && header(state.headers, 'x-atp-decision'), 'bypass');
  t.equal(b.metrics.value('atp_filter.snapshot_version'), 7n);
});

t.test('a worker never replaces a later shared snapshot with an earlier one', async (t) => {
  // Worker A's clock runs ahead of worker B's; both share one store.
  const sharedData = new SharedDataStore();
  const ahead = new FakeClock(2_000_000_000_000);
  const behind = new FakeClock(1_000_000_000_000);
  const sidecarA = stockSidecar();
  sidecarA.snapshot = filterSnapshot({ version: 9 });
  const sidecarB = stockSidecar();
  sidecarB.snapshot = filterSnapshot({ version: 8, killed: true });
  const a = await startFilter({ sidecar: sidecarA.handler, now: ahead.now, sharedData });
  const b = await startFilter({ sidecar: sidecarB.handler, now: behind.now, sharedData });
  t.teardown(() => {
    a.close();
    b.close();
  });

  // A publishes first; B's snapshot, fetched "earlier", is kept by B alone and not published.
  await pullSnapshot(a, ahead);
  await pullSnapshot(b, behind);
  const shared = sharedData.get('atp', 'atp.snapshot');
  t.ok(shared, 'a snapshot is shared');
  t.match(Buffer.from(shared?.value ?? []).toString(), /^2000000000500\n\{"version":9/);
});
