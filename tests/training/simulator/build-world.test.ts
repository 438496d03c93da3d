import t from 'tap';
import { parseZone, serves, zoneDistance } from '../../../features/src/node-profile.js';
import { buildWorld } from '../../../training/src/simulator/build-world.js';
import { resolveSimConfig } from '../../../training/src/simulator/sim-config.js';

const config = resolveSimConfig({ seed: 11 });
const world = buildWorld(config);

t.test('the same config builds the same world, another seed a different one', async (t) => {
  t.same(buildWorld(resolveSimConfig({ seed: 11 })), world);
  t.not(JSON.stringify(buildWorld(resolveSimConfig({ seed: 12 })).pairs), JSON.stringify(world.pairs));
});

t.test('the default world has the documented size', async (t) => {
  t.equal(world.region, 'eu-west');
  t.equal(world.zones.length, 25);
  t.equal(world.skus.length, 2000);
  const byType = { warehouse: 0, store: 0, seller: 0 };
  for (const n of world.nodes) byType[n.nodeType]++;
  t.same(byType, { warehouse: 8, store: 20, seller: 20 });
  t.ok(world.pairs.length > 10_000 && world.pairs.length < 20_000, `${world.pairs.length} pairs`);
});

t.test('zones are grid cells and nodes sit in them', async (t) => {
  t.equal(world.zones[0], 'Z0-0');
  t.equal(world.zones[24], 'Z4-4');
  for (const n of world.nodes) {
    t.not(parseZone(n.zone), null, `${n.nodeId} sits in a grid zone`);
    t.ok(serves(n, n.zone), `${n.nodeId} serves its own zone`);
  }
  t.equal(zoneDistance('Z0-0', 'Z4-4'), 4);
});

t.test('node types differ the way the design says', async (t) => {
  const of = (type: string) => world.nodes.filter((n) => n.nodeType === type);
  const maxRadius = (type: string) => Math.max(...of(type).map((n) => n.serviceRadius));
  const minRadius = (type: string) => Math.min(...of(type).map((n) => n.serviceRadius));
  t.ok(minRadius('warehouse') > maxRadius('store'), 'warehouses serve wider than stores');
  const meanHandling = (type: string) => of(type).reduce((a, n) => a + n.handlingHours, 0) / of(type).length;
  t.ok(meanHandling('seller') > meanHandling('warehouse'), 'sellers take longer to hand over');
  t.ok(
    of('seller').some((n) => n.dailyOrderCap > 0 || n.blackoutHoursUtc !== null),
    'some sellers have constraints',
  );
  t.ok(of('warehouse').every((n) => n.dailyOrderCap === 0 && n.blackoutHoursUtc === null));
  for (const n of world.nodes) {
    t.equal(n.handlingHours % 0.25, 0, `${n.nodeId} handling is on the quarter hour`);
    if (n.blackoutHoursUtc !== null) t.ok(n.blackoutHoursUtc[0] < n.blackoutHoursUtc[1]);
  }
});

t.test('SKU popularity is Zipf-like and every SKU is stocked somewhere', async (t) => {
  const pops = world.skus.map((s) => s.popularity);
  t.ok(Math.abs(pops.reduce((a, b) => a + b, 0) - 1) < 1e-9, 'popularities sum to 1');
  for (let i = 1; i < pops.length; i++)
    if (pops[i]! > pops[i - 1]!) t.fail('popularity must not increase with rank');
  t.ok(pops[0]! / pops[99]! > 30, 'the head is much more popular than rank 100');
  t.equal(world.skus.filter((s) => s.hot).length, 40);
  for (const s of world.skus)
    if ((world.stocking.get(s.sku)?.length ?? 0) === 0) t.fail(`${s.sku} is not stocked`);
  const headHolders = world.stocking.get(world.skus[0]!.sku)!.length;
  const tailHolders = world.stocking.get(world.skus[1999]!.sku)!.length;
  t.ok(headHolders > tailHolders, 'popular SKUs are stocked in more nodes');
  for (const p of world.pairs)
    if (p.orderUpTo < p.reorderPoint || p.initialUnits < 1) t.fail(`${p.sku}|${p.node}`);
});
