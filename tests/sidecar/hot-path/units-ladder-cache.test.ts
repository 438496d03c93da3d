import t from 'tap';
import { UNITS_P10_MAX_AGE_MS } from '../../../sidecar/src/decision/policies/units-ladder.js';
import { ev, T0 } from '../../helpers/events.js';
import { testBundle } from '../../helpers/model-bundle.js';
import { checkout, WORLD_NOW, worldSidecar } from '../../helpers/sidecar-world.js';

/** A tiny-world sidecar with the test model and a clock the test moves. */
async function setup() {
  const clock = { now: WORLD_NOW };
  const sc = worldSidecar({ clock: () => clock.now });
  await sc.models.loadAndActivate(testBundle());
  let seen = 0;
  /** Feature rows the ranker scored since the last call. */
  const rowsSince = async () => {
    const total = (await sc.metrics.rankerRows.get()).values[0]?.value ?? 0;
    const d = total - seen;
    seen = total;
    return d;
  };
  return { sc, clock, rowsSince };
}

t.test('a repeated checkout ranks only its candidates: units_p10 comes from the ladder cache', async (t) => {
  const { sc, rowsSince } = await setup();
  const first = await sc.engine.check(checkout('IN-STOCK', 1, 'r-1'));
  const firstRows = await rowsSince();
  const again = await sc.engine.check(checkout('IN-STOCK', 1, 'r-2'));
  const againRows = await rowsSince();
  t.equal(againRows, 3, 'one row per candidate (WH-1, ST-1, SL-1), no ladder rows');
  t.ok(firstRows > againRows + 3, `the first checkout ran the ladders (${firstRows} rows)`);
  t.ok(first.items[0]!.unitsP10 > 0, 'IN-STOCK has sellable units');
  t.equal(again.items[0]!.unitsP10, first.items[0]!.unitsP10, 'same units_p10 from the cache');
  // A sidecar that never cached anything computes the same answer.
  const fresh = await setup();
  const recomputed = await fresh.sc.engine.check(checkout('IN-STOCK', 1, 'r-2'));
  t.equal(recomputed.items[0]!.unitsP10, again.items[0]!.unitsP10, 'equal to a recomputed ladder');
});

t.test('age alone re-runs every ladder; a changed record re-runs only its own', async (t) => {
  const { sc, clock, rowsSince } = await setup();
  const before = await sc.engine.check(checkout('IN-STOCK', 1, 'r-1'));
  const allLadders = await rowsSince();
  await sc.engine.check(checkout('IN-STOCK', 1, 'r-2'));
  t.equal(await rowsSince(), 3, 'cached');
  clock.now += UNITS_P10_MAX_AGE_MS + 1;
  await sc.engine.check(checkout('IN-STOCK', 1, 'r-3'));
  t.equal(await rowsSince(), allLadders, 'past the max age every ladder runs again');
  // 45 of WH-1's 50 units sold: its record changes, the other two nodes' do not.
  sc.features.apply(ev('sale', 45, 2, { sku: 'IN-STOCK', node: 'WH-1', atMs: T0 + 2_000 }));
  const after = await sc.engine.check(checkout('IN-STOCK', 1, 'r-4'));
  const rows = await rowsSince();
  t.ok(rows > 3 && rows < allLadders, `only WH-1's ladder ran again (${rows} rows of ${allLadders})`);
  t.ok(after.items[0]!.unitsP10 < before.items[0]!.unitsP10, 'units_p10 follows the sale');
  await sc.engine.check(checkout('IN-STOCK', 1, 'r-5'));
  t.equal(await rowsSince(), 3, 'cached again');
});

t.test('a swapped model does not reuse the old model ladders', async (t) => {
  const { sc, rowsSince } = await setup();
  await sc.engine.check(checkout('IN-STOCK', 1, 'r-1'));
  const allLadders = await rowsSince();
  await sc.models.loadAndActivate(testBundle('gbdt-other', 2));
  await sc.engine.check(checkout('IN-STOCK', 1, 'r-2'));
  t.equal(await rowsSince(), allLadders, 'the new model ran its own ladders');
});
