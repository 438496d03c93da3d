import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { loadAtpPackage, loadHealthPackage } from '../../../sidecar/src/adapters/grpc/grpc-server.js';
import { checkout, worldSidecar } from '../../helpers/sidecar-world.js';

const body = (sku: string) =>
  JSON.stringify({ request_id: 'r-1', buyer_zone: 'Z1-1', channel: 'checkout', items: [{ sku, qty: 1 }] });

async function post(port: number, path: string, text: string, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: text,
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, any> };
}

t.test('HTTP: deadline and route headers are validated by name and honoured', async (t) => {
  const sc = worldSidecar();
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());
  const bad = await post(httpPort, '/v1/check', body('IN-STOCK'), { 'x-atp-deadline-ms': 'soon' });
  t.equal(bad.status, 400);
  t.equal(bad.json.error.field, 'x-atp-deadline-ms');
  const badRoute = await post(httpPort, '/v1/check', body('IN-STOCK'), { 'x-atp-route': 'checkout' });
  t.equal(badRoute.json.error.field, 'x-atp-route');
  const ok = await post(httpPort, '/v1/check', body('IN-STOCK'), {
    'x-atp-deadline-ms': '25',
    'x-atp-route': '/checkout',
  });
  t.equal(ok.status, 200);
  t.equal(ok.headers.get('x-atp-decision'), 'allow');
});

t.test('HTTP: the order service confirms and releases holds by decision id', async (t) => {
  const sc = worldSidecar();
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());
  const d = await post(httpPort, '/v1/check', body('IN-STOCK'));
  const id = d.json.decision_id as string;
  const token = d.headers.get('x-atp-hold-token');
  const conf = await post(
    httpPort,
    '/v1/reservations/confirm',
    JSON.stringify({ decision_id: id, skus: ['IN-STOCK'] }),
  );
  t.same(conf.json, { decision_id: id, confirmed: 1 });
  const rel = await post(
    httpPort,
    '/v1/reservations/release',
    JSON.stringify({ decision_id: id, hold_token: token, skus: ['IN-STOCK', 'OTHER'] }),
  );
  t.same(rel.json, { decision_id: id, released: 1 });
  const bad = await post(
    httpPort,
    '/v1/reservations/release',
    JSON.stringify({ decision_id: id, hold_token: token, skus: ['bad sku'] }),
  );
  t.equal(bad.json.error.field, 'skus[0]');
});

t.test('HTTP: /metrics exposes decisions, reasons and latency; readiness follows start', async (t) => {
  const sc = worldSidecar();
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());
  await post(httpPort, '/v1/check', body('IN-STOCK'));
  await post(httpPort, '/v1/check', body('OUT'));
  await post(httpPort, '/v1/check', '{');
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  t.match(text, /atp_decisions_total\{channel="checkout",decision="allow",mode="enforce"\} 1/);
  t.match(text, /atp_item_reasons_total\{channel="checkout",reason="INSUFFICIENT_ATP"\} 1/);
  t.match(text, /atp_decision_seconds_bucket\{le="0.002",channel="checkout"\}/);
  t.match(text, /atp_errors_total\{code="ATP_ERR_INVALID_ARGUMENT",edge="http"\} 1/);
  t.equal((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status, 200);
});

t.test('gRPC: health reports SERVING per service and a call with a deadline is answered', async (t) => {
  const sc = worldSidecar();
  const { grpcPort } = await sc.start();
  t.teardown(() => sc.stop());
  const addr = `127.0.0.1:${grpcPort}`;
  const health = new (loadHealthPackage() as any).grpc.health.v1.Health(
    addr,
    grpc.credentials.createInsecure(),
  );
  const atp = new (loadAtpPackage() as any).mercato.atp.v1.AvailabilityService(
    addr,
    grpc.credentials.createInsecure(),
  );
  t.teardown(() => {
    health.close();
    atp.close();
  });
  const status = await new Promise<any>((res, rej) =>
    health.Check({ service: 'mercato.atp.v1.AvailabilityService' }, (e: Error, r: unknown) =>
      e ? rej(e) : res(r),
    ),
  );
  t.equal(status.status, 'SERVING');
  const unknown = await new Promise<any>((res, rej) =>
    health.Check({ service: 'nope' }, (e: Error, r: unknown) => (e ? rej(e) : res(r))),
  );
  t.equal(unknown.status, 'SERVICE_UNKNOWN');
  const ok = await new Promise<any>((res, rej) =>
    atp.Check(
      { ...checkout('IN-STOCK'), request_id: 'g', buyer_zone: 'Z1-1', items: [{ sku: 'IN-STOCK', qty: 1 }] },
      { deadline: Date.now() + 2_000 },
      (e: Error, r: unknown) => (e ? rej(e) : res(r)),
    ),
  );
  t.equal(ok.decision, 'allow');
});
