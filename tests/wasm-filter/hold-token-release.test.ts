/**
 * End to end: the real sidecar (createSidecar, in-memory stores) behind the
 * local data plane running the compiled filter, an echoing checkout service
 * upstream. The hold token the filter passes upstream is the one the sidecar
 * signed: the checkout service releases its hold with it (and cannot without
 * it), and a token the client made up never reaches the service.
 */
import t, { type Test } from 'tap';
import type { MemoryReservationStore } from '../../sidecar/src/adapters/memory/memory-reservation-store.js';
import { createLocalDataPlane } from '../../wasm-filter/emulator/index.js';
import { OUT_PATH } from '../../wasm-filter/scripts/build.js';
import { tinySidecar } from '../helpers/tiny-world.js';
import { postCheckout, startEchoUpstream } from './helpers/echo-upstream.js';
import { BASE_CONFIG, filterModule } from './helpers/filter-harness.js';

const SKU = 'IN-STOCK';
/** Generous for a loaded 2-core box: this test is about the token, not the budget. */
const SIDECAR_TIMEOUT_MS = 1000;

async function startMesh(t: Test) {
  await filterModule(); // builds the .wasm when missing or stale
  const sidecar = tinySidecar();
  const { httpPort } = await sidecar.start();
  const upstream = await startEchoUpstream();
  const plane = createLocalDataPlane({
    port: 0,
    wasmPath: OUT_PATH,
    pluginConfig: { ...BASE_CONFIG, timeout_ms: SIDECAR_TIMEOUT_MS },
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
  return { sidecar, upstream, port, httpPort, store: sidecar.reservations as MemoryReservationStore };
}

/** POST /v1/reservations/release to the sidecar, as the checkout service does when an order is dropped. */
async function release(httpPort: number, body: Record<string, unknown>) {
  const res = await fetch(`http://127.0.0.1:${httpPort}/v1/reservations/release`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

t.test('the checkout service releases its hold with the token the filter passed on', async (t) => {
  // An in-stock checkout through the data plane: allowed, one unit held at the chosen node.
  const { upstream, port, httpPort, store } = await startMesh(t);
  const answer = await postCheckout(port, [{ sku: SKU, qty: 1 }], { requestId: 'order-1' });
  t.equal(answer.status, 201, 'the upstream took the order');
  const seen = upstream.seen[0] ?? {};
  t.equal(seen['x-atp-decision'], 'allow');
  const decisionId = seen['x-atp-decision-id'] ?? '';
  const node = seen['x-atp-node'] ?? '';
  const token = seen['x-atp-hold-token'];
  t.match(token, /^[A-Za-z0-9_-]{22}$/, 'the checkout service got a hold token');
  t.equal(store.promisedUnits(SKU, node), 1, `one unit of ${SKU} held at ${node}`);

  // Without the token (what it could do before) the sidecar refuses, naming the field; the hold stays.
  const refused = await release(httpPort, { decision_id: decisionId, skus: [SKU] });
  t.equal(refused.status, 403);
  t.equal(refused.json.error?.field, 'hold_token');
  t.equal(store.promisedUnits(SKU, node), 1, 'still held');

  // With the token it received, the release is accepted and the unit is free again.
  const released = await release(httpPort, { decision_id: decisionId, hold_token: token, skus: [SKU] });
  t.equal(released.status, 200);
  t.same(released.json, { decision_id: decisionId, released: 1 });
  t.equal(store.promisedUnits(SKU, node), 0, 'nothing held any more');
});

t.test('a hold token sent by the client never reaches the checkout service', async (t) => {
  // A client adds its own x-atp-hold-token (say, another order's) to an allowed checkout.
  const { upstream, port, httpPort } = await startMesh(t);
  const first = await postCheckout(port, [{ sku: SKU, qty: 1 }], { requestId: 'order-1' });
  t.equal(first.status, 201);
  const stolen = upstream.seen[0]?.['x-atp-hold-token'] ?? '';
  const res = await fetch(`http://127.0.0.1:${port}/checkout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'order-2', 'x-atp-hold-token': stolen },
    body: JSON.stringify({ items: [{ sku: SKU, qty: 1 }], buyer_zone: 'Z1-1' }),
  });
  t.equal(res.status, 201);
  await res.arrayBuffer();

  // The service sees only the sidecar's token of the second decision, which releases that decision alone.
  const second = upstream.seen[1] ?? {};
  const token = second['x-atp-hold-token'];
  t.not(token, stolen, 'the client-sent token was replaced by the sidecar’s');
  const released = await release(httpPort, {
    decision_id: second['x-atp-decision-id'],
    hold_token: token,
    skus: [SKU],
  });
  t.same(released.json, { decision_id: second['x-atp-decision-id'], released: 1 });
});
