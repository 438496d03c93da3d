import t from 'tap';
import type { CheckRequest } from '../../../proto/v1/decision.js';
import { tinySidecar } from '../../helpers/tiny-world.js';

function req(sku: string, qty: number, zone = 'Z1-1'): CheckRequest {
  return { requestId: 'r-1', region: 'eu-west', buyerZone: zone, channel: 'checkout', items: [{ sku, qty }] };
}

t.test('an in-stock item is allowed with ranked options and a decision id', async (t) => {
  const d = await tinySidecar().engine.check(req('IN-STOCK', 2));
  t.equal(d.decision, 'allow');
  t.match(d.decisionId, /^d-/);
  const item = d.items[0]!;
  t.equal(item.available, true);
  t.same(
    item.options.map((o) => o.nodeId),
    ['ST-1', 'WH-1', 'SL-1'],
    'the nearby store ranks first, the far seller last',
  );
  t.ok(item.options[0]!.score >= item.options[1]!.score);
  t.same(item.reasons, ['ATP_OK']);
  t.equal(d.modelVersion, 'rules-only');
});

t.test('a sold-out item is denied with the reason', async (t) => {
  const d = await tinySidecar().engine.check(req('OUT', 1));
  t.equal(d.decision, 'deny');
  t.same(d.items[0]!.reasons, ['INSUFFICIENT_ATP']);
  t.equal(d.items[0]!.options.length, 0);
});

t.test('the last unit at a store is held back by the safety buffer', async (t) => {
  const d = await tinySidecar().engine.check(req('LOW', 1));
  t.equal(d.decision, 'deny');
  t.same(d.items[0]!.reasons, ['SAFETY_BUFFER']);
});

t.test('an unknown sku and an unserved zone are denied with distinct reasons', async (t) => {
  const sc = tinySidecar();
  t.same((await sc.engine.check(req('NOPE', 1))).items[0]!.reasons, ['UNKNOWN_SKU']);
  t.same((await sc.engine.check(req('LOW', 1, 'Z9-9'))).items[0]!.reasons, ['NOT_SERVICEABLE']);
});

t.test('a basket is allowed only when every item is', async (t) => {
  const d = await tinySidecar().engine.check({
    ...req('IN-STOCK', 1),
    items: [
      { sku: 'IN-STOCK', qty: 1 },
      { sku: 'OUT', qty: 1 },
    ],
  });
  t.equal(d.decision, 'deny');
  t.same(
    d.items.map((i) => i.available),
    [true, false],
  );
});
