/**
 * Experiments across the filter and the sidecar (issue 13 item 3): the
 * compiled .wasm in the local data plane buckets each buyer key inside the
 * pod and sends the sidecar only the experiment id, the bucket and the arm;
 * the real sidecar maps the bucket to the same arm, applies that arm's
 * policy and tags its decision log and decision stream with it. A recording
 * hop between the two checks that no buyer key ever reaches the sidecar.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { type ControlSnapshot, defaultControlSnapshot } from '../../proto/v1/control-snapshot.js';
import { armForBucket, type Experiment, experimentBucket } from '../../proto/v1/experiment.js';
import { createLocalDataPlane } from '../../wasm-filter/emulator/index.js';
import { OUT_PATH } from '../../wasm-filter/scripts/build.js';
import { tinySidecar } from '../helpers/tiny-world.js';
import { startEchoUpstream } from './helpers/echo-upstream.js';
import { BASE_CONFIG, filterModule } from './helpers/filter-harness.js';

const KEYS = 400;
/** The promise for a stop: sidecars stop serving an arm within this of the decision. */
const STOP_SLO_MS = 2000;
type Obj = Record<string, unknown>;

const EXPERIMENT: Experiment = {
  id: 'ab-agree',
  revision: 1,
  state: 'running',
  salt: 'salt-7',
  routes: ['/checkout'],
  regions: ['eu-west'],
  arms: [
    { name: 'naive', kind: 'naive', weightBp: 3000, state: 'active' },
    { name: 'champ', kind: 'champion', weightBp: 5000, state: 'active' },
    { name: 'chal', kind: 'challenger', weightBp: 2000, modelVersion: 'm-2', state: 'active' },
  ],
  guardrail: { enabled: true, alpha: 0.05, minPromisedPerArm: 500, margin: 0 },
};

function snapshot(version: number, experiments: Experiment[]): ControlSnapshot {
  return { ...defaultControlSnapshot('rules-only'), version, contentHash: `test-${version}`, experiments };
}

/** A pass-through hop that keeps every request the filter sends the sidecar (headers and body, raw). */
async function recordingHop(targetPort: number) {
  const seen: { headers: string; body: string }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ headers: JSON.stringify(req.headers), body: body.toString('utf8') });
      const up = request(
        { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.writeHead(502).end());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    seen,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function checkout(port: number, requestId: string, buyerKey: string | null): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/checkout`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-request-id': requestId,
      ...(buyerKey === null ? {} : { 'x-atp-buyer-key': buyerKey }),
    },
    body: JSON.stringify({ items: [{ sku: 'IN-STOCK', qty: 1 }], buyer_zone: 'Z1-1' }),
  });
  await res.text();
  return res.status;
}

t.test('filter and sidecar agree on the arm for many keys; no buyer key reaches the sidecar', async (t) => {
  await filterModule(); // builds the .wasm when missing or stale
  const logLines: Obj[] = [];
  const events: Obj[] = [];
  const sidecar = tinySidecar({
    decisionLogSink: {
      write: async (lines) => {
        for (const l of lines.split('\n')) if (l !== '') logLines.push(JSON.parse(l) as Obj);
      },
      close: async () => undefined,
    },
    decisionStreamSink: {
      publish: async (batch) => {
        for (const r of batch) events.push(JSON.parse(String(r.value)) as Obj);
      },
      close: async () => undefined,
    },
  });
  const { httpPort } = await sidecar.start();
  sidecar.control.setSnapshot(snapshot(2, [EXPERIMENT]));
  const hop = await recordingHop(httpPort);
  const upstream = await startEchoUpstream();
  const plane = createLocalDataPlane({
    port: 0,
    wasmPath: OUT_PATH,
    pluginConfig: { ...BASE_CONFIG, timeout_ms: 1000, snapshot_period_ms: 100 },
    upstream: { host: '127.0.0.1', port: upstream.port },
    clusters: { 'atp-sidecar': { host: '127.0.0.1', port: hop.port } },
    logLevel: 'warn',
  });
  const { port } = await plane.start();
  t.teardown(async () => {
    await plane.stop();
    await upstream.close();
    await hop.close();
    await sidecar.stop();
  });

  // The filter pulls the snapshot with the experiment on its tick: wait until a request carries a tag.
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    await checkout(port, `warm-${Date.now()}`, 'warm-key');
    if (hop.seen.some((s) => s.body.includes('"experiment"'))) break;
    await new Promise((r) => setTimeout(r, 50));
  }

  // Many buyers, each with a key the filter hashes; plus requests without a key.
  const keys = Array.from({ length: KEYS }, (_, i) => `buyer-${i}-${(i * 7919) % 1000}`);
  // 201 allowed or 409 denied (the tiny world's stock runs out under holds): the sidecar decided either way.
  for (let i = 0; i < KEYS; i++) {
    const status = await checkout(port, `req-${i}`, keys[i] ?? '');
    if (status !== 201 && status !== 409) t.fail(`req-${i}: status ${status}`);
  }
  for (let i = 0; i < 20; i++) await checkout(port, `nokey-${i}`, null);
  await sidecar.decisionLog?.flush();

  const sent = new Map<string, Obj>();
  for (const s of hop.seen) {
    if (!s.body.startsWith('{')) continue;
    const b = JSON.parse(s.body) as Obj;
    if (typeof b.request_id === 'string') sent.set(b.request_id, b);
    for (const k of [...keys, 'warm-key']) {
      if (s.body.includes(k) || s.headers.includes(k)) t.fail(`buyer key ${k} reached the sidecar`);
    }
    t.notOk(s.headers.includes('x-atp-buyer-key'), 'no buyer-key header reaches the sidecar');
  }

  // The filter's bucket is the contract's bucket of the key, and its arm the contract's arm.
  const counts: Record<string, number> = {};
  for (let i = 0; i < KEYS; i++) {
    const tag = sent.get(`req-${i}`)?.experiment as { id: string; bucket: number; arm: string } | undefined;
    const bucket = experimentBucket(EXPERIMENT.salt, keys[i] ?? '');
    const arm = armForBucket(EXPERIMENT.arms, bucket)?.name;
    if (tag?.bucket !== bucket || tag.arm !== arm || tag.id !== EXPERIMENT.id) {
      t.fail(`req-${i}: filter sent ${JSON.stringify(tag)}, contract says bucket ${bucket} arm ${arm}`);
    }
    counts[arm ?? '?'] = (counts[arm ?? '?'] ?? 0) + 1;
  }
  t.ok(
    (counts.naive ?? 0) > KEYS * 0.2 && (counts.chal ?? 0) > KEYS * 0.1,
    `split ${JSON.stringify(counts)}`,
  );
  t.equal(sent.get('nokey-0')?.experiment, undefined, 'a request without a key carries no experiment');

  // The sidecar's decision log says the same arm for every request, and applies its policy.
  const waitFor = Date.now() + 5000;
  while (
    logLines.filter((l) => String(l.request_id).startsWith('req-')).length < KEYS &&
    Date.now() < waitFor
  ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  let agreed = 0;
  for (const l of logLines) {
    const id = String(l.request_id);
    if (!id.startsWith('req-')) continue;
    const tag = sent.get(id)?.experiment as { arm: string } | undefined;
    // The challenger's model m-2 is not loaded here: its buckets get the control policy, tagged `none`.
    const expected = tag?.arm === 'chal' ? 'none' : tag?.arm;
    if (l.experiment === EXPERIMENT.id && l.arm === expected) agreed++;
    if (l.arm === 'naive' && l.enforced !== 'naive')
      t.fail(`${id}: the naive arm answered with ${String(l.enforced)}`);
    if (l.arm === 'champ' && l.enforced === 'naive') t.fail(`${id}: the champion answered naive`);
  }
  t.equal(agreed, KEYS, 'sidecar and filter agree on every arm');
  while (events.filter((e) => e.experiment === EXPERIMENT.id).length < KEYS && Date.now() < waitFor + 5000) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const tagged = events.filter((e) => e.experiment === EXPERIMENT.id);
  t.ok(tagged.length >= KEYS, 'decision-stream events carry the experiment');
  t.ok(
    tagged.every((e) => ['ab-agree:naive', 'ab-agree:champ', 'none'].includes(String(e.arm))),
    'and the qualified arm',
  );
  t.ok(
    events.every((e) => e.request_id === undefined && e.buyer_key === undefined),
    'and no user-level id',
  );

  // The sidecar's /metrics count the tags: every one assigned, none mismatched.
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const tags = (outcome: string) =>
    Number(new RegExp(`atp_experiment_tags_total\\{outcome="${outcome}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
  t.ok(tags('assigned') >= KEYS, `atp_experiment_tags_total{outcome="assigned"} ${tags('assigned')}`);
  t.equal(tags('mismatch'), 0, 'no arm mismatch between filter and sidecar');

  // An operator (or the guardrail) stops the naive arm (the champion is the control): its buckets get the champion's policy.
  const stoppedAt = performance.now();
  sidecar.control.setSnapshot(
    snapshot(3, [
      {
        ...EXPERIMENT,
        revision: 2,
        arms: EXPERIMENT.arms.map((a) => (a.name === 'naive' ? { ...a, state: 'stopped' } : a)),
      },
    ]),
  );
  const modelKey =
    keys.find((k) => armForBucket(EXPERIMENT.arms, experimentBucket(EXPERIMENT.salt, k))?.name === 'naive') ??
    '';
  let servedMs = Number.POSITIVE_INFINITY;
  for (let n = 0; performance.now() - stoppedAt < STOP_SLO_MS * 2; n++) {
    const before = logLines.length;
    await checkout(port, `after-stop-${n}`, modelKey);
    while (logLines.length === before && performance.now() - stoppedAt < STOP_SLO_MS * 2) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const last = logLines.find((l) => l.request_id === `after-stop-${n}`);
    if (last?.arm === 'none' && last.enforced !== 'naive') {
      servedMs = performance.now() - stoppedAt;
      break;
    }
  }
  t.ok(
    servedMs < STOP_SLO_MS,
    `a stopped arm's buckets get the control policy after ${Math.round(servedMs)} ms`,
  );
});
