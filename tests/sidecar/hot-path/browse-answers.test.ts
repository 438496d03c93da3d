import t from 'tap';
import { BROWSE_ANSWER_TTL_MS, BrowseAnswers } from '../../../sidecar/src/browse/browse-answers.js';
import { ev, T0 } from '../../helpers/events.js';
import { testBundle } from '../../helpers/model-bundle.js';
import { checkout, WORLD_NOW, worldSidecar } from '../../helpers/sidecar-world.js';

const page = (skus: string[], requestId = 'p-1') => ({
  requestId,
  region: 'eu-west',
  buyerZone: 'Z1-1',
  channel: 'browse' as const,
  items: skus.map((sku) => ({ sku, qty: 1 })),
});

async function setup() {
  const clock = { now: WORLD_NOW };
  const sc = worldSidecar({ clock: () => clock.now });
  await sc.models.loadAndActivate(testBundle());
  let gen = 'g1';
  const browse = new BrowseAnswers(sc.engine, { generation: () => gen, clock: () => clock.now });
  return { sc, clock, browse, setGeneration: (g: string) => (gen = g) };
}

t.test('a product page reads kept SKU answers and computes only the missing ones', async (t) => {
  const { browse } = await setup();
  const first = await browse.check(page(['IN-STOCK', 'LOW']));
  t.same(browse.stats, { hits: 0, computed: 2 });
  const second = await browse.check(page(['LOW', 'OUT', 'IN-STOCK'], 'p-2'));
  t.same(browse.stats, { hits: 2, computed: 3 }, 'LOW and IN-STOCK kept, OUT computed');
  t.same(
    second.items.map((i) => i.sku),
    ['LOW', 'OUT', 'IN-STOCK'],
    'request order',
  );
  t.same(second.items[0], first.items[1], 'LOW answered as before');
  t.equal(second.items[1]!.available, false, 'OUT is out of stock');
  t.equal(second.decision, 'deny', 'one unavailable SKU makes the page decision deny');
  t.not(second.decisionId, first.decisionId, 'every answer has its own decision id');
  t.equal(second.modelVersion, first.modelVersion);
});

t.test('kept answers expire after the TTL and on a new generation', async (t) => {
  const { sc, browse, clock, setGeneration } = await setup();
  const before = await browse.check(page(['IN-STOCK']));
  t.equal(before.items[0]!.available, true);
  // Every unit sold everywhere: the kept answer still serves until it expires.
  for (const node of ['WH-1', 'ST-1', 'SL-1'])
    sc.features.apply(ev('sale', 50, 2, { sku: 'IN-STOCK', node, atMs: T0 + 2_000 }));
  t.equal((await browse.check(page(['IN-STOCK']))).items[0]!.available, true, 'within the TTL: kept');
  clock.now += BROWSE_ANSWER_TTL_MS + 1;
  t.equal((await browse.check(page(['IN-STOCK']))).items[0]!.available, false, 'past the TTL: recomputed');
  sc.features.apply(ev('receipt', 50, 3, { sku: 'IN-STOCK', node: 'WH-1', atMs: T0 + 3_000 }));
  setGeneration('g2');
  t.equal((await browse.check(page(['IN-STOCK']))).items[0]!.available, true, 'new generation: recomputed');
});

t.test('an answer computed while the store failed is not kept: the next page asks again', async (t) => {
  const { browse } = await setup();
  let failing = true;
  const inner = {
    async check(req: Parameters<typeof browse.check>[0]) {
      const d = await browse.check(req);
      return failing ? { ...d, degradations: ['redis' as const] } : d;
    },
  };
  const outer = new BrowseAnswers(inner, { generation: () => 'g', clock: () => WORLD_NOW });
  t.same((await outer.check(page(['IN-STOCK']))).degradations, ['redis']);
  failing = false;
  const next = await outer.check(page(['IN-STOCK'], 'p-2'));
  t.same(next.degradations, [], 'recomputed once the store answers (a redis fallback was not kept)');
  t.same(outer.stats, { hits: 0, computed: 2 });
  await outer.check(page(['IN-STOCK'], 'p-3'));
  t.same(outer.stats, { hits: 1, computed: 2 }, 'a healthy answer is kept');
});

t.test('checkouts pass straight through to the engine', async (t) => {
  const { browse } = await setup();
  const d = await browse.check(checkout('IN-STOCK'));
  t.equal(d.channel, 'checkout');
  t.same(browse.stats, { hits: 0, computed: 0 });
});

t.test('the sidecar serves product pages through kept answers on HTTP', async (t) => {
  const clock = { now: WORLD_NOW };
  const sc = worldSidecar({ clock: () => clock.now, httpPort: 0, grpcPort: 0 });
  await sc.models.loadAndActivate(testBundle());
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());
  const post = async (requestId: string) => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/v1/check-batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        request_id: requestId,
        buyer_zone: 'Z1-1',
        channel: 'browse',
        items: [{ sku: 'LOW', qty: 1 }],
      }),
    });
    t.equal(res.status, 200);
    return ((await res.json()) as { items: { available: boolean }[] }).items[0]!.available;
  };
  const before = await post('p-1');
  sc.features.apply(ev('sale', 1, 2, { sku: 'LOW', node: 'ST-1', atMs: T0 + 2_000 }));
  t.equal(await post('p-2'), before, 'the kept answer served the second page');
  clock.now += BROWSE_ANSWER_TTL_MS + 1;
  t.equal(await post('p-3'), false, 'after the TTL the sold-out SKU is unavailable');
});
