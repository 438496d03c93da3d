import t from 'tap';
import { Simulator } from '../../../training/src/simulator/simulator.js';

const SAMPLE_EVERY_RECORDS = 256;

t.test('the pending queue is bounded by world size, not by run length', async (t) => {
  const sim = new Simulator({ seed: 1, maxEvents: 300_000 });
  let events = 0;
  let n = 0;
  let max = 0;
  let maxAt100k = 0;
  for (const r of sim.run()) {
    if (r.type === 'event') {
      events++;
      if (events === 100_000) maxAt100k = max;
    }
    if (++n % SAMPLE_EVERY_RECORDS === 0) max = Math.max(max, sim.pendingSize());
  }
  const pairs = sim.world.pairs.length;
  t.comment(
    `max pending after 100K events: ${maxAt100k}, after ${events}: ${max} (world: ${pairs} pairs, ` +
      `${sim.world.nodes.length} nodes)`,
  );
  t.ok(maxAt100k > 0);
  t.ok(max <= 1.5 * maxAt100k, 'tripling the run grows the queue by less than half');
  t.ok(max < 3 * pairs, 'the queue stays within a small multiple of the world');
  t.equal(sim.pendingSize(), 0, 'nothing is left once the run ends');
});
