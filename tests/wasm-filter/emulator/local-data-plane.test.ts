import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { createLocalDataPlane, type LocalDataPlane } from '../../../wasm-filter/emulator/local-data-plane.js';
import { OUT_PATH } from '../../../wasm-filter/scripts/build.js';
import { BASE_CONFIG, filterModule, IN_STOCK_BODY, OUT_OF_STOCK_BODY } from '../helpers/filter-harness.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP server that records requests and answers with `respond`. */
async function httpServer(
  respond: (req: Received) => { status: number; headers?: Record<string, string>; body?: string },
): Promise<{ server: Server; port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(r);
      const answer = respond(r);
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, received };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The sidecar's HTTP edge as the filter sees it: summary headers on a 200 (and no snapshot: 404). */
function sidecarAnswer(req: Received) {
  if (req.url !== '/v1/check') return { status: 404, body: '{"error":"not_found"}' };
  const items = (JSON.parse(req.body) as { items: Array<{ sku: string }> }).items;
  const allow = items.every((i) => !i.sku.startsWith('OOS'));
  return {
    status: 200,
    headers: {
      'content-type': 'application/json',
      'x-atp-decision': allow ? 'allow' : 'deny',
      'x-atp-decision-id': 'dec-http-1',
      'x-atp-node': 'wh-eu-2',
      'x-atp-degraded': '',
    },
    body: JSON.stringify({ decision: allow ? 'allow' : 'deny' }),
  };
}

async function startPlane(
  t: Test,
  sidecarPort: number,
  upstreamPort: number,
): Promise<LocalDataPlane & { port: number }> {
  await filterModule(); // builds the .wasm when missing
  const plane: LocalDataPlane = createLocalDataPlane({
    port: 0,
    wasmPath: OUT_PATH,
    pluginConfig: { ...BASE_CONFIG, timeout_ms: 1000 },
    upstream: { host: '127.0.0.1', port: upstreamPort },
    clusters: { 'atp-sidecar': { host: '127.0.0.1', port: sidecarPort } },
  });
  const { port } = await plane.start();
  t.teardown(() => plane.stop());
  return Object.assign(plane, { port });
}

t.test(
  'the local data plane forwards an allowed request to the upstream and returns its response',
  async (t) => {
    // A real upstream checkout service and a sidecar speaking HTTP.
    const upstream = await httpServer(() => ({
      status: 201,
      headers: { 'content-type': 'application/json', 'x-order': 'o-77' },
      body: '{"order":"o-77"}',
    }));
    const sidecar = await httpServer(sidecarAnswer);
    t.teardown(() => Promise.all([close(upstream.server), close(sidecar.server)]));

    // Start the data plane in front of the upstream.
    const { port, vm } = await startPlane(t, sidecar.port, upstream.port);

    // A client checks out an in-stock basket through it.
    const res = await fetch(`http://127.0.0.1:${port}/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: 'session=abc' },
      body: IN_STOCK_BODY,
    });

    // The client gets the upstream's answer.
    t.equal(res.status, 201);
    t.equal(res.headers.get('x-order'), 'o-77');
    t.equal(await res.text(), '{"order":"o-77"}');

    // The upstream got the body and the decision headers (and the client's own headers).
    const got = upstream.received[0];
    t.equal(got?.body, IN_STOCK_BODY);
    t.equal(got?.headers['x-atp-decision'], 'allow');
    t.equal(got?.headers['x-atp-decision-id'], 'dec-http-1');
    t.equal(got?.headers['x-atp-node'], 'wh-eu-2');
    t.equal(got?.headers.cookie, 'session=abc');

    // The sidecar got the minimal request over HTTP, without the cookie.
    const asked = sidecar.received.find((r) => r.url === '/v1/check');
    t.equal(asked?.url, '/v1/check');
    t.equal(asked?.headers.cookie, undefined);
    t.same(Object.keys(JSON.parse(asked?.body ?? '{}')).sort(), [
      'buyer_zone',
      'channel',
      'items',
      'region',
      'request_id',
    ]);
    t.same(vm?.traps, [], 'no trap in the data plane');
  },
);

t.test('the local data plane answers a denied checkout itself; the upstream never sees it', async (t) => {
  // A real upstream and sidecar.
  const upstream = await httpServer(() => ({ status: 200, body: 'should not be reached' }));
  const sidecar = await httpServer(sidecarAnswer);
  t.teardown(() => Promise.all([close(upstream.server), close(sidecar.server)]));
  const { port, vm } = await startPlane(t, sidecar.port, upstream.port);

  // A client checks out an out-of-stock basket.
  const res = await fetch(`http://127.0.0.1:${port}/checkout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: OUT_OF_STOCK_BODY,
  });

  // 409 with the decision id; nothing reached the upstream.
  t.equal(res.status, 409);
  t.equal(res.headers.get('x-atp-decision-id'), 'dec-http-1');
  t.match(await res.json(), { error: 'unavailable', decision_id: 'dec-http-1' });
  t.equal(upstream.received.length, 0);
  t.same(vm?.traps, [], 'no trap in the data plane');
});

t.test('the local data plane answers 503 retryable when the sidecar is down', async (t) => {
  // An upstream, and a sidecar port with nothing listening.
  const upstream = await httpServer(() => ({ status: 200 }));
  const gone = await httpServer(() => ({ status: 200 }));
  await close(gone.server);
  t.teardown(() => close(upstream.server));
  const { port, vm } = await startPlane(t, gone.port, upstream.port);

  // The checkout is answered 503 with retry-after, and the upstream is not reached.
  const res = await fetch(`http://127.0.0.1:${port}/checkout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: IN_STOCK_BODY,
  });
  t.equal(res.status, 503);
  t.equal(res.headers.get('retry-after'), '1');
  t.same(await res.json(), { error: 'atp_unavailable', retryable: true });
  t.equal(upstream.received.length, 0);
  t.same(vm?.traps, [], 'no trap in the data plane');
});

t.test('the local data plane passes other routes straight through', async (t) => {
  // An upstream and a sidecar that must not be asked.
  const upstream = await httpServer((r) => ({ status: 200, body: `${r.method} ${r.url}` }));
  const sidecar = await httpServer(sidecarAnswer);
  t.teardown(() => Promise.all([close(upstream.server), close(sidecar.server)]));
  const { port, vm } = await startPlane(t, sidecar.port, upstream.port);

  // A product page read and a cart update go through untouched.
  t.equal(await (await fetch(`http://127.0.0.1:${port}/products/42?x=1`)).text(), 'GET /products/42?x=1');
  const put = await fetch(`http://127.0.0.1:${port}/cart`, { method: 'PUT', body: 'abc' });
  t.equal(await put.text(), 'PUT /cart');
  t.equal(upstream.received[1]?.body, 'abc');
  t.equal(sidecar.received.filter((r) => r.url === '/v1/check').length, 0, 'no decision was asked for');
  t.same(vm?.traps, [], 'no trap in the data plane');
});

t.test('the local data plane refuses to start on a configuration the filter refuses', async (t) => {
  // A configuration without the required region.
  await filterModule();
  const withoutRegion = Object.fromEntries(Object.entries(BASE_CONFIG).filter(([k]) => k !== 'region'));
  const plane = createLocalDataPlane({
    port: 0,
    wasmPath: OUT_PATH,
    pluginConfig: withoutRegion,
    upstream: { host: '127.0.0.1', port: 9 },
    clusters: {},
    logLevel: 'error',
  });
  t.teardown(() => plane.stop());

  // start() rejects with the coded error naming the field, and nothing serves.
  await t.rejects(plane.start(), {
    code: 'ATP_ERR_FILTER_REFUSED_TO_START',
    message: /the filter refused to start: .*region/,
  });
  t.equal(plane.vm, undefined);
});
