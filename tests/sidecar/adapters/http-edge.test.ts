import t from 'tap';
import { tinySidecar } from '../../helpers/tiny-world.js';

async function post(port: number, path: string, body: string, ctype = 'application/json') {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': ctype },
    body,
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, any> };
}

const checkout = (sku: string, qty = 1) =>
  JSON.stringify({ request_id: 'r-1', buyer_zone: 'Z1-1', channel: 'checkout', items: [{ sku, qty }] });

t.test('the HTTP edge answers decisions with summary headers and a JSON body', async (t) => {
  const sc = tinySidecar();
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());

  // An in-stock checkout: allow, with the decision in headers and body.
  const ok = await post(httpPort, '/v1/check', checkout('IN-STOCK'));
  t.equal(ok.status, 200);
  t.equal(ok.headers.get('x-atp-decision'), 'allow');
  t.equal(ok.headers.get('x-atp-decision-id'), ok.json.decision_id);
  t.equal(ok.headers.get('x-atp-node'), 'ST-1');
  t.equal(
    ok.headers.get('x-atp-units-p10'),
    String(Math.floor(ok.json.items[0].units_p10)),
    'one conservative unit count per item, for the filter margin book',
  );
  t.equal(ok.headers.get('x-atp-model-version'), 'rules-only');
  t.equal(ok.json.items[0].options[0].node_type, 'store');
  t.type(ok.json.items[0].p_fulfill, 'number');

  // A sold-out checkout: still a 200 answer from the sidecar, with decision deny.
  const no = await post(httpPort, '/v1/check', checkout('OUT'));
  t.equal(no.status, 200);
  t.equal(no.headers.get('x-atp-decision'), 'deny');
});

t.test('bad input gets a 4xx naming the problem, and the sidecar keeps serving', async (t) => {
  const sc = tinySidecar();
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());

  const notJson = await post(httpPort, '/v1/check', '{"items":');
  t.equal(notJson.status, 400);
  t.equal(notJson.json.error.code, 'ATP_ERR_INVALID_ARGUMENT');
  t.equal(notJson.json.error.field, '$');

  const badQty = await post(httpPort, '/v1/check', checkout('IN-STOCK', 0));
  t.equal(badQty.status, 400);
  t.equal(badQty.json.error.field, 'items[0].qty');

  const huge = await post(httpPort, '/v1/check', `{"pad":"${'x'.repeat(200_000)}"}`);
  t.equal(huge.status, 413);

  const wrongType = await post(httpPort, '/v1/check', checkout('IN-STOCK'), 'text/plain');
  t.equal(wrongType.status, 415);
  // Issue 16 finding 7: a media type that merely starts like JSON is not JSON; parameters are fine.
  const jsonx = await post(httpPort, '/v1/check', checkout('IN-STOCK'), 'application/jsonx');
  t.equal(jsonx.status, 415, 'application/jsonx refused');
  const charset = await post(httpPort, '/v1/check', checkout('IN-STOCK'), 'Application/JSON; charset=utf-8');
  t.equal(charset.status, 200, 'application/json with a charset (any case) accepted');

  const batchCheckout = await post(httpPort, '/v1/check-batch', checkout('IN-STOCK'));
  t.equal(batchCheckout.status, 400);
  t.equal(batchCheckout.json.error.field, 'channel');

  const get = await fetch(`http://127.0.0.1:${httpPort}/v1/check`);
  t.equal(get.status, 405);
  t.equal((await fetch(`http://127.0.0.1:${httpPort}/nope`)).status, 404);

  const after = await post(httpPort, '/v1/check', checkout('IN-STOCK'));
  t.equal(after.status, 200, 'still serving');
});

t.test('health, readiness and the filter snapshot answer', async (t) => {
  const sc = tinySidecar();
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());
  t.equal((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status, 200);
  t.equal((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status, 200);
  const snap = (await (await fetch(`http://127.0.0.1:${httpPort}/v1/filter-snapshot`)).json()) as Record<
    string,
    unknown
  >;
  t.equal(snap.model_version, 'rules-only');
});
