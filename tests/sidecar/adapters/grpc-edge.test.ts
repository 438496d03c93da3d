import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { defaultControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import { loadAtpPackage } from '../../../sidecar/src/adapters/grpc/grpc-server.js';
import { tinySidecar } from '../../helpers/tiny-world.js';

type Client = grpc.Client & Record<string, Function>;

function client(port: number): Client {
  const pkg = loadAtpPackage() as any;
  return new pkg.mercato.atp.v1.AvailabilityService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

function call(c: Client, method: string, req: unknown): Promise<any> {
  return new Promise((resolve, reject) =>
    c[method]!(req, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))),
  );
}

t.test('gRPC Check answers with the same decision as HTTP', async (t) => {
  const sc = tinySidecar();
  const { grpcPort } = await sc.start();
  const c = client(grpcPort);
  t.teardown(async () => {
    c.close();
    await sc.stop();
  });
  const res = await call(c, 'Check', {
    request_id: 'g-1',
    buyer_zone: 'Z1-1',
    channel: 'checkout',
    items: [{ sku: 'IN-STOCK', qty: 1 }],
  });
  t.equal(res.decision, 'allow');
  t.equal(res.region, 'eu-west', 'an empty proto3 region means the sidecar region');
  t.equal(res.items[0].options[0].node_id, 'ST-1');

  const batch = await call(c, 'CheckBatch', {
    request_id: 'g-2',
    buyer_zone: 'Z1-1',
    channel: 'browse',
    items: [
      { sku: 'IN-STOCK', qty: 1 },
      { sku: 'OUT', qty: 1 },
    ],
  });
  t.same(
    batch.items.map((i: { available: boolean }) => i.available),
    [true, false],
  );
});

t.test('gRPC refuses a bad field with INVALID_ARGUMENT naming it', async (t) => {
  const sc = tinySidecar();
  const { grpcPort } = await sc.start();
  const c = client(grpcPort);
  t.teardown(async () => {
    c.close();
    await sc.stop();
  });
  const err = await call(c, 'Check', {
    request_id: 'g-1',
    buyer_zone: 'Z1-1',
    channel: 'checkout',
    items: [{ sku: 'A', qty: 0 }],
  }).catch((e: grpc.ServiceError) => e);
  t.equal(err.code, grpc.status.INVALID_ARGUMENT);
  t.match(err.details, /items\[0\]\.qty/);
  t.same(err.metadata.get('atp-error-field'), ['items[0].qty']);
});

t.test('gRPC garbage bytes are INVALID_ARGUMENT, not INTERNAL, and the server keeps serving', async (t) => {
  const sc = tinySidecar();
  const { grpcPort } = await sc.start();
  const raw = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  const c = client(grpcPort);
  t.teardown(async () => {
    raw.close();
    c.close();
    await sc.stop();
  });
  const send = (method: string, bytes: Buffer) =>
    new Promise<grpc.ServiceError | null>((resolve) =>
      raw.makeUnaryRequest(
        `/mercato.atp.v1.AvailabilityService/${method}`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        (err) => resolve(err),
      ),
    );
  // Issue 16 finding 7: bytes that are no protobuf message (a truncated varint, text) are refused as
  // undecodable; bytes that decode to some message are refused by the validator, naming the field.
  const cases: [Buffer, RegExp][] = [
    [Buffer.from([0xff, 0xff, 0xff]), /not a protobuf/],
    [Buffer.from('not protobuf'), /not a protobuf/],
    [Buffer.from([0x0f, 0x01]), /./],
  ];
  for (const [bytes, details] of cases) {
    for (const method of ['Check', 'CheckBatch']) {
      const err = await send(method, bytes);
      const what = `${method} ${bytes.toString('hex')}`;
      t.equal(err?.code, grpc.status.INVALID_ARGUMENT, `${what}: INVALID_ARGUMENT (${err?.details})`);
      t.match(err?.details ?? '', details, `${what}: says why`);
      t.equal(err?.metadata.get('atp-error-field').length, 1, `${what}: names a field`);
    }
  }
  const res = await call(c, 'Check', {
    request_id: 'g-after',
    buyer_zone: 'Z1-1',
    channel: 'checkout',
    items: [{ sku: 'IN-STOCK', qty: 1 }],
  });
  t.equal(res.decision, 'allow', 'still serving');
});

t.test('gRPC carries the experiment tag: the sidecar assigns the arm as over HTTP', async (t) => {
  const sc = tinySidecar({ recentDecisions: 16 });
  sc.control.setSnapshot({
    ...defaultControlSnapshot('rules-only'),
    version: 2,
    experiments: [
      {
        id: 'ab-1',
        revision: 1,
        state: 'running',
        salt: 'ab-1',
        routes: ['/checkout'],
        regions: ['eu-west'],
        arms: [
          { name: 'control', kind: 'naive', weightBp: 5000, state: 'active' },
          { name: 'champ', kind: 'champion', weightBp: 5000, state: 'active' },
        ],
        guardrail: { enabled: true, alpha: 0.05, minPromisedPerArm: 500, margin: 0 },
      },
    ],
  });
  const { grpcPort, httpPort } = await sc.start();
  const c = client(grpcPort);
  t.teardown(async () => {
    c.close();
    await sc.stop();
  });
  const req = (id: string, experiment: unknown) => ({
    request_id: id,
    buyer_zone: 'Z1-1',
    channel: 'checkout',
    items: [{ sku: 'IN-STOCK', qty: 1 }],
    ...(experiment === undefined ? {} : { experiment }),
  });
  const armOf = async (decisionId: string) => {
    const r = await fetch(`http://127.0.0.1:${httpPort}/v1/decisions/${decisionId}`);
    const rec = (await r.json()) as { experiment?: string; arm?: string };
    return rec.arm === undefined ? undefined : `${rec.experiment}:${rec.arm}`;
  };
  const low = await call(c, 'Check', req('g-low', { id: 'ab-1', bucket: 10 }));
  t.equal(await armOf(low.decision_id), 'ab-1:control', 'bucket 10: the first arm');
  const high = await call(c, 'Check', req('g-high', { id: 'ab-1', bucket: 7000, arm: '' }));
  t.equal(
    await armOf(high.decision_id),
    'ab-1:champ',
    'bucket 7000: the second arm (empty arm = none named)',
  );
  const none = await call(c, 'Check', req('g-none', undefined));
  t.equal(await armOf(none.decision_id), undefined, 'no tag: outside the experiment');
  const bad = await call(c, 'Check', req('g-bad', { id: 'ab-1', bucket: 10_000 })).catch(
    (e: grpc.ServiceError) => e,
  );
  t.equal(bad.code, grpc.status.INVALID_ARGUMENT);
  t.same(bad.metadata.get('atp-error-field'), ['experiment.bucket']);
});
