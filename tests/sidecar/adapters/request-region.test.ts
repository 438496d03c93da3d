/**
 * A sidecar serves its own region only: over HTTP and gRPC, a request for
 * another region is refused (421 / FAILED_PRECONDITION, ATP_ERR_WRONG_REGION)
 * and a malformed region name is INVALID_ARGUMENT, both naming `region`.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { loadAtpPackage } from '../../../sidecar/src/adapters/grpc/grpc-server.js';
import { tinySidecar } from '../../helpers/tiny-world.js';

type Client = grpc.Client & Record<string, Function>;

const body = (region?: string) => ({
  request_id: 'r-1',
  ...(region === undefined ? {} : { region }),
  buyer_zone: 'Z1-1',
  channel: 'checkout',
  items: [{ sku: 'IN-STOCK', qty: 1 }],
});

t.test('HTTP: another region is refused with 421 naming region; the own region answers', async (t) => {
  const sc = tinySidecar();
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());
  const post = async (b: unknown) => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(b),
    });
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };
  const own = await post(body('eu-west'));
  t.equal(own.status, 200);
  t.equal(own.json.region, 'eu-west');
  t.equal((await post(body())).json.region, 'eu-west', 'no region: the sidecar region');

  const other = await post(body('us-east'));
  t.equal(other.status, 421);
  t.equal(other.json.error.code, 'ATP_ERR_WRONG_REGION');
  t.equal(other.json.error.field, 'region');
  t.match(other.json.error.message, /eu-west.*us-east/);

  for (const bad of ['EU-WEST', 'eu west', 'eu--west', '-x']) {
    const r = await post(body(bad));
    t.equal(r.status, 400, `"${bad}" is malformed`);
    t.equal(r.json.error.code, 'ATP_ERR_INVALID_ARGUMENT');
    t.equal(r.json.error.field, 'region');
  }
});

t.test('gRPC: another region is FAILED_PRECONDITION, a malformed one INVALID_ARGUMENT', async (t) => {
  const sc = tinySidecar();
  const { grpcPort } = await sc.start();
  const pkg = loadAtpPackage() as any;
  const c: Client = new pkg.mercato.atp.v1.AvailabilityService(
    `127.0.0.1:${grpcPort}`,
    grpc.credentials.createInsecure(),
  );
  t.teardown(async () => {
    c.close();
    await sc.stop();
  });
  const call = (req: unknown): Promise<any> =>
    new Promise((resolve, reject) =>
      c.Check!(req, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))),
    );
  t.equal((await call(body('eu-west'))).region, 'eu-west');
  const other = (await call(body('us-east')).catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
  t.equal(other.code, grpc.status.FAILED_PRECONDITION);
  t.same(other.metadata.get('atp-error-code'), ['ATP_ERR_WRONG_REGION']);
  t.same(other.metadata.get('atp-error-field'), ['region']);
  const bad = (await call(body('Eu_West')).catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
  t.equal(bad.code, grpc.status.INVALID_ARGUMENT);
  t.same(bad.metadata.get('atp-error-field'), ['region']);
});
