/**
 * A checkout decided after its caller's deadline is answered 504, and
 * nobody receives its hold token: the holds it took are given back at once
 * instead of blocking stock until their TTL (seen in the local mesh: the
 * filter's call timed out, the sidecar kept the hold). The engine is the
 * tiny world's real one; only the time between its decision and the edge's
 * answer is stretched.
 */
import t from 'tap';
import { HttpEdge } from '../../../sidecar/src/adapters/http/http-server.js';
import { MemoryReservationStore } from '../../../sidecar/src/adapters/memory/memory-reservation-store.js';
import { tinySidecar } from '../../helpers/tiny-world.js';

const checkout = (id: string) =>
  JSON.stringify({
    request_id: id,
    buyer_zone: 'Z1-1',
    channel: 'checkout',
    items: [{ sku: 'IN-STOCK', qty: 1 }],
  });

t.test('a checkout decided after its deadline answers 504 and leaves no hold behind', async (t) => {
  const store = new MemoryReservationStore();
  const sc = tinySidecar({ reservations: store });
  const edge = new HttpEdge({
    region: 'eu-west',
    isReady: () => true,
    filterSnapshot: () => ({}),
    reservations: store,
    // The real engine decides (and holds), then the answer is slow to leave: 80 ms.
    service: {
      check: async (req) => {
        const decision = await sc.engine.check(req);
        await new Promise((r) => setTimeout(r, 80));
        return decision;
      },
    },
  });
  const port = await edge.start();
  t.teardown(() => edge.stop());
  const post = (id: string, deadlineMs: string) =>
    fetch(`http://127.0.0.1:${port}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-atp-deadline-ms': deadlineMs },
      body: checkout(id),
    });

  const late = await post('late-1', '40');
  t.equal(late.status, 504, 'decided after the deadline');
  t.equal(late.headers.get('x-atp-hold-token'), null, 'no token handed out');
  // The release is not awaited by the answer: give it a moment.
  for (let i = 0; i < 50 && store.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(store.size, 0, 'the late decision holds nothing');

  const inTime = await post('ok-1', '5000');
  t.equal(inTime.status, 200);
  t.equal(inTime.headers.get('x-atp-decision'), 'allow');
  t.ok(inTime.headers.get('x-atp-hold-token'), 'an answered allow carries its token');
  t.equal(store.size, 1, 'and keeps its hold');
});
