import t from 'tap';
import { MAX_CHECKOUT_ITEMS, parseCheckRequest } from '../../../proto/v1/decision.js';
import { ContractError } from '../../../proto/v1/validate.js';
import { loadJson } from '../../helpers/fixtures.js';

const valid = loadJson<unknown[]>('proto/v1/fixtures/check-request.valid.json');
const invalid = loadJson<{ why: string; field: string; input: unknown }[]>(
  'proto/v1/fixtures/check-request.invalid.json',
);

t.test('valid requests parse, and a missing region falls back to the sidecar region', async (t) => {
  const a = parseCheckRequest(valid[0], { region: 'us-east' });
  t.equal(a.region, 'eu-west', 'explicit region wins');
  t.same(a.items, [{ sku: 'SKU-00001', qty: 1 }]);
  const b = parseCheckRequest(valid[1], { region: 'us-east' });
  t.equal(b.region, 'us-east', 'default region applies');
  t.equal(b.channel, 'browse');
});

t.test('invalid requests are refused with an error naming the field', async (t) => {
  for (const c of invalid) {
    const err = t.throws(() => parseCheckRequest(c.input, { region: 'eu-west' }), c.why) as ContractError;
    t.type(err, ContractError);
    t.equal(err.field, c.field, `${c.why}: names ${c.field}`);
  }
});

t.test(
  'a checkout basket larger than the item limit is refused, a browse page of the same size is not',
  async (t) => {
    const items = Array.from({ length: MAX_CHECKOUT_ITEMS + 1 }, (_, i) => ({ sku: `S${i}`, qty: 1 }));
    const base = { request_id: 'r', buyer_zone: 'Z0-0', items };
    const err = t.throws(() =>
      parseCheckRequest({ ...base, channel: 'checkout' }, { region: 'x' }),
    ) as ContractError;
    t.equal(err.field, 'items');
    t.equal(
      parseCheckRequest({ ...base, channel: 'browse' }, { region: 'x' }).items.length,
      MAX_CHECKOUT_ITEMS + 1,
    );
  },
);

t.test(
  'a checkout names each SKU once (its hold is per SKU and decision); product pages may repeat',
  async (t) => {
    const req = (channel: string, skus: string[]) => ({
      request_id: 'r-dup',
      region: 'eu-west',
      buyer_zone: 'Z1',
      channel,
      items: skus.map((sku) => ({ sku, qty: 5 })),
    });
    t.throws(() => parseCheckRequest(req('checkout', ['A', 'B', 'A'])), {
      field: 'items[2].sku',
      message: /A is already items\[0\]: send each SKU once, with the total quantity/,
    });
    t.equal(parseCheckRequest(req('checkout', ['A', 'B'])).items.length, 2);
    t.equal(parseCheckRequest(req('browse', ['A', 'A'])).items.length, 2, 'browse holds nothing');
  },
);
