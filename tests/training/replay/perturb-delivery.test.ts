import t from 'tap';
import type { InventoryEvent } from '../../../proto/v1/inventory-event.js';
import { type Delivery, perturbDelivery } from '../../../training/src/replay/perturb-delivery.js';
import { ev, T0 } from '../../helpers/events.js';

/** 400 deliveries 100 ms apart, each 50 ms after its event time; #200..#219 arrive from a 10-minute backlog. */
function deliveries(): Delivery[] {
  const out: Delivery[] = [];
  for (let i = 0; i < 400; i++) {
    const deliverAtMs = T0 + i * 100;
    const backlog = i >= 200 && i < 220;
    const e = ev('receipt', 1, i + 1, {
      id: `e${i}`,
      atMs: backlog ? deliverAtMs - 600_000 : deliverAtMs - 50,
    });
    out.push({ deliverAtMs, event: e });
  }
  return out;
}

const ids = (events: Iterable<InventoryEvent>) => [...events].map((e) => e.eventId);

t.test('without duplication or shuffling the stream passes through untouched', async (t) => {
  const input = deliveries();
  const out = ids(perturbDelivery(input, { duplicate: false, shuffleMs: 0, shuffleShare: 0.5, seed: 1 }));
  t.same(
    out,
    input.map((d) => d.event.eventId),
  );
});

t.test('with duplication every event comes exactly twice', async (t) => {
  const out = ids(
    perturbDelivery(deliveries(), { duplicate: true, shuffleMs: 2_000, shuffleShare: 0.5, seed: 1 }),
  );
  t.equal(out.length, 800);
  const counts = new Map<string, number>();
  for (const id of out) counts.set(id, (counts.get(id) ?? 0) + 1);
  t.ok([...counts.values()].every((n) => n === 2));
});

t.test(
  'shuffling moves events by at most shuffle-ms of delivery time and never moves a backlog',
  async (t) => {
    const input = deliveries();
    const at = new Map(input.map((d) => [d.event.eventId, d.deliverAtMs]));
    const out = ids(
      perturbDelivery(input, { duplicate: false, shuffleMs: 2_000, shuffleShare: 0.5, seed: 9 }),
    );
    t.not(out.join(), input.map((d) => d.event.eventId).join(), 'the order changed');
    // An event is overtaken only by events delivered less than shuffle-ms after it.
    let worst = 0;
    for (let i = 0; i < out.length; i++) {
      for (let j = i + 1; j < out.length; j++) {
        const late = at.get(out[i]!)! - at.get(out[j]!)!;
        if (late > worst) worst = late;
      }
    }
    t.ok(worst < 2_000, `largest displacement ${worst} ms`);
    // The backlog events keep their relative order.
    const backlog = out.filter((id) => {
      const n = Number(id.slice(1));
      return n >= 200 && n < 220;
    });
    t.same(
      backlog,
      Array.from({ length: 20 }, (_, k) => `e${200 + k}`),
    );
  },
);

t.test('the same seed gives the same stream, another seed another one', async (t) => {
  const opts = { duplicate: true, shuffleMs: 2_000, shuffleShare: 0.3, seed: 5 };
  t.same(ids(perturbDelivery(deliveries(), opts)), ids(perturbDelivery(deliveries(), opts)));
  t.not(
    ids(perturbDelivery(deliveries(), opts)).join(),
    ids(perturbDelivery(deliveries(), { ...opts, seed: 6 })).join(),
  );
});
