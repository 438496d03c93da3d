import t from 'tap';
import { parseCheckRequest } from '../../proto/v1/decision.js';
import { checkoutHeaders, sendCheckout, startFilter, stockSidecar } from './helpers/filter-harness.js';

t.test('the sidecar request carries only request id, region, buyer zone, channel and items', async (t) => {
  // Start the filter with a sidecar that records its calls.
  const sidecar = stockSidecar();
  const vm = await startFilter({ sidecar: sidecar.handler });
  t.teardown(() => vm.close());

  // A checkout full of user-level data: cookies, authorization, user ids, addresses.
  const headers = checkoutHeaders([
    ['cookie', 'session=s3cr3t; uid=u-42'],
    ['authorization', 'Bearer eyJhbGciOi.secret'],
    ['x-user-id', 'u-42'],
    ['x-forwarded-for', '203.0.113.7'],
    ['user-agent', 'Mozilla/5.0'],
  ]);
  const body = JSON.stringify({
    user_id: 'u-42',
    email: 'alice@example.com',
    shipping_address: { street: '1 Main St', city: 'Berlin', postcode: '10115' },
    payment: { card: '4111111111111111' },
    buyer_zone: 'DE-10',
    items: [{ sku: 'SKU-00001', qty: 2, note: 'gift for alice' }],
  });
  const { state } = await sendCheckout(vm, body, headers);
  t.equal(state.kind, 'continued');

  // The call headers are the request line, content negotiation, the matched route, the budget and
  // the length — nothing from the client.
  const call = sidecar.calls[0];
  if (call === undefined) throw t.fail('no sidecar call');
  t.same(call.headers, [
    [':method', 'POST'],
    [':path', '/v1/check'],
    [':authority', 'atp-sidecar'],
    ['content-type', 'application/json'],
    ['accept', 'application/json'],
    ['x-atp-route', '/checkout'],
    ['x-atp-deadline-ms', '25'],
    ['content-length', String(call.body.length)],
  ]);

  // The body has exactly the five fields, with only sku and qty per item.
  const json = JSON.parse(Buffer.from(call.body).toString('utf8')) as Record<string, unknown>;
  t.same(Object.keys(json).sort(), ['buyer_zone', 'channel', 'items', 'region', 'request_id']);
  t.same(json, {
    request_id: 'req-0001',
    region: 'eu-west',
    buyer_zone: 'DE-10',
    channel: 'checkout',
    items: [{ sku: 'SKU-00001', qty: 2 }],
  });
  const raw = Buffer.from(call.body).toString('utf8');
  for (const secret of [
    's3cr3t',
    'eyJhbGciOi',
    'u-42',
    'alice',
    'Main St',
    '4111',
    '203.0.113.7',
    'Mozilla',
  ]) {
    t.notOk(raw.includes(secret), `does not leak ${secret}`);
  }

  // The sidecar's own contract parser accepts it as is.
  const parsed = parseCheckRequest(json);
  t.same(parsed.items, [{ sku: 'SKU-00001', qty: 2 }]);
  t.equal(parsed.channel, 'checkout');
});
