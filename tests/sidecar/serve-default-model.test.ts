/**
 * `serve` answers with the committed trained bundle (models/CURRENT) by
 * default, verified like any bundle. The rule scorer answers only by
 * `--rules-only` or when the bundle is refused, and then every answer is
 * flagged `degraded: model` and its p_fulfill is labelled a rule score, not
 * a calibrated probability. Real processes, real redis-server, real
 * onnxruntime-node.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { seedRedis } from '../helpers/redis-world.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';

const REGION = 'eu-west';
const CURRENT = readFileSync(join(REPO_ROOT, 'models/CURRENT'), 'utf8').trim();

const server = await startRedisServer();
t.teardown(() => server.stop());
await seedRedis(server.url, REGION, [
  { sku: 'IN-STOCK', node: 'ST-1', units: 40 },
  { sku: 'IN-STOCK', node: 'WH-1', units: 40 },
]);

/** Asks until the answer is not degraded `redis` (a loaded machine can miss the few-ms read budget). */
async function check(port: number, id: string): Promise<Record<string, any>> {
  let j: Record<string, any> = {};
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        request_id: `${id}-${i}`,
        region: REGION,
        buyer_zone: 'Z1-1',
        channel: 'browse',
        items: [{ sku: 'IN-STOCK', qty: 1 }],
      }),
    });
    t.equal(res.status, 200);
    j = (await res.json()) as Record<string, any>;
    t.equal(res.headers.get('x-atp-model-version'), j.model_version, 'the filter header says the same');
    if (!j.degradations.includes('redis')) break;
  }
  return j;
}

function serve(extra: string[]) {
  return startSidecarProcess([
    '--region',
    REGION,
    '--redis',
    server.url,
    '--http-port',
    '0',
    '--grpc-port',
    '0',
    '--log-level',
    'info',
    ...extra,
  ]);
}

t.test('without flags serve answers with the committed bundle, calibrated', async (t) => {
  const sc = await serve([]);
  t.teardown(() => sc.stop());
  const d = await check(sc.httpPort, 'default');
  t.equal(d.model_version, CURRENT, 'the bundle models/CURRENT names');
  t.equal(d.p_fulfill_kind, 'calibrated');
  t.notOk(d.degradations.includes('model'));
  t.equal(d.decision, 'allow', JSON.stringify(d));
  const p = d.items[0].p_fulfill as number;
  t.ok(p > 0 && p <= 1, `a probability (${p})`);
});

t.test('--rules-only: the rule scorer answers, flagged and labelled a rule score', async (t) => {
  const sc = await serve(['--rules-only']);
  t.teardown(() => sc.stop());
  const d = await check(sc.httpPort, 'rules');
  t.equal(d.model_version, 'rules-only');
  t.ok(d.degradations.includes('model'), 'every answer says degraded: model');
  t.equal(d.p_fulfill_kind, 'rule-score', 'p_fulfill is not presented as a calibrated probability');
});

t.test('a bundle that fails verification leaves the rule scorer answering, flagged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atp-bad-bundle-'));
  cpSync(join(REPO_ROOT, 'models', CURRENT), dir, { recursive: true });
  const onnx = join(dir, 'model.onnx');
  const bytes = readFileSync(onnx);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
  writeFileSync(onnx, bytes);
  const sc = await serve(['--model', dir]);
  t.teardown(() => sc.stop());
  const d = await check(sc.httpPort, 'tampered');
  t.equal(d.model_version, 'rules-only');
  t.ok(d.degradations.includes('model'));
  t.equal(d.p_fulfill_kind, 'rule-score');
});

t.test('--model and --rules-only together are refused, naming the flag', async (t) => {
  await t.rejects(
    serve(['--rules-only', '--model', join(REPO_ROOT, 'models')]),
    /ATP_ERR_INVALID_FLAG --rules-only/,
  );
});
