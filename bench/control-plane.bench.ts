/**
 * Control plane distribution and model swap times.
 *
 * 1. Watch fan-out: WATCHERS sidecar watch clients (the real
 *    ControlWatchClient, in process) on one control plane; CHANGES kill
 *    switch changes. Per change: time from sending the admin request to
 *    every watcher holding the new version. Baseline, same run: the admin
 *    request round trip alone (change validated, stored, audited, published).
 * 2. Model swap: the sidecar's ModelRegistry with onnxruntime. Per swap:
 *    verify + session + warm-up + activate of a bundle not loaded yet
 *    (a promote) against the baseline of activating a model already loaded
 *    (what a rollback to `previous` costs).
 * 3. TLS cost (issue 16), as ratios TLS / plaintext on the same machine,
 *    medians of TLS_RUNS runs each (plain and TLS runs alternate):
 *    - watch fan-out: TLS_WATCHERS watch streams (one gRPC channel each, as
 *      sidecars have), per change the time until every stream received its
 *      delta;
 *    - admin API on a kept-alive connection (what a script or the console
 *      pays per request): GET /v1/status and a change (POST);
 *    - admin API on a new connection per request (what one atpctl
 *      invocation pays: TCP + TLS handshake + request).
 *    Certificates are made on the fly (tests/helpers/tls-certs.ts, openssl).
 *
 *   npm run bench:control-plane   (node --import tsx bench/control-plane.bench.ts)
 *
 * Writes bench/out/control-plane.json.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFakeControlPlane } from '../control-plane/src/control-plane.js';
import { EXIT_OK } from '../platform/src/flags.js';
import { runMain } from '../platform/src/run-main.js';
import { MANIFEST_FILE } from '../proto/v1/model-manifest.js';
import { createOnnxRanker } from '../sidecar/src/adapters/onnx/onnx-ranker.js';
import { ControlWatchClient } from '../sidecar/src/control/control-watch-client.js';
import { ModelRegistry } from '../sidecar/src/model/model-registry.js';
import { openWatch, type TestWatch } from '../tests/control-plane/helpers/watch-client.js';
import { makeTestPki, type TestPki } from '../tests/helpers/tls-certs.js';
import { writeSyntheticBundle } from '../training/src/bundle/synthetic-bundle.js';

const WATCHERS = 100;
const TLS_RUNS = 3;
const TLS_WATCHERS = 50;
const TLS_CHANGES = 20;
const TLS_REQUESTS = 200;
/** The bench's tokens open many streams each (a real deployment gives each sidecar its own token). */
const BENCH_MAX_STREAMS = 10_000;
const CHANGES = 30;
const SWAPS = 20;
const TOKEN = 'bench-operator-token-000000';
const OUT_FILE = join(dirname(fileURLToPath(import.meta.url)), 'out', 'control-plane.json');

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function fanOut(): Promise<Record<string, number>> {
  const cp = createFakeControlPlane({
    bootstrapTokens: [{ name: 'bench', role: 'operator', token: TOKEN, maxStreams: BENCH_MAX_STREAMS }],
  });
  await cp.start();
  const clients = Array.from(
    { length: WATCHERS },
    (_, i) =>
      new ControlWatchClient({
        address: cp.grpcAddress,
        token: TOKEN,
        region: 'eu-west',
        sidecarId: `bench-${i}`,
        persistence: null,
        // Every snapshot verified as a sidecar does (ed25519 + content hash + chain).
        snapshotKeys: [cp.signer.publicKey],
        onSnapshot: () => undefined,
      }),
  );
  for (const c of clients) c.start();
  await Promise.all(clients.map((c) => c.waitForVersion(1, 30_000)));
  const accept: number[] = [];
  const all: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const t0 = performance.now();
    const res = await fetch(`${cp.url}/v1/kill-switches/${i % 2 === 0 ? 'set' : 'clear'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ scope: 'region', target: 'eu-west', reason: 'bench' }),
    });
    const version = ((await res.json()) as { snapshot: { version: number } }).snapshot.version;
    accept.push(performance.now() - t0);
    await Promise.all(clients.map((c) => c.waitForVersion(version, 30_000)));
    all.push(performance.now() - t0);
  }
  await Promise.all(clients.map((c) => c.stop()));
  await cp.stop();
  return {
    watchers: WATCHERS,
    changes: CHANGES,
    acceptP50Ms: quantile(accept, 0.5),
    allWatchersP50Ms: quantile(all, 0.5),
    allWatchersP99Ms: quantile(all, 0.99),
    ratioP50: quantile(all, 0.5) / quantile(accept, 0.5),
  };
}

async function swaps(): Promise<Record<string, number>> {
  const root = mkdtempSync(join(tmpdir(), 'atp-bench-swap-'));
  try {
    const base = join(root, 'base');
    writeSyntheticBundle(base, { version: 'bench-base', rows: 4_000, trees: 50 });
    const dirs = Array.from({ length: SWAPS }, (_, i) => {
      const d = join(root, `v${i}`);
      cpSync(base, d, { recursive: true });
      const m = JSON.parse(readFileSync(join(d, MANIFEST_FILE), 'utf8'));
      m.version = `bench-${i}`;
      writeFileSync(join(d, MANIFEST_FILE), JSON.stringify(m));
      return d;
    });
    const reg = new ModelRegistry({ loadRanker: (b) => createOnnxRanker(b) });
    const load: number[] = [];
    const flip: number[] = [];
    let previous: string | null = null;
    for (const d of dirs) {
      const t0 = performance.now();
      const m = await reg.load(d);
      reg.activate(m.version);
      load.push(performance.now() - t0);
      if (previous !== null) {
        const t1 = performance.now();
        reg.activate(previous);
        reg.activate(m.version);
        flip.push((performance.now() - t1) / 2);
        await reg.release(previous);
      }
      previous = m.version;
    }
    await reg.stop();
    return {
      swaps: SWAPS,
      promoteP50Ms: quantile(load, 0.5),
      promoteP99Ms: quantile(load, 0.99),
      rollbackActivateP50Ms: quantile(flip, 0.5),
      ratioP50: quantile(load, 0.5) / Math.max(quantile(flip, 0.5), 1e-6),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

interface TlsRun {
  fanOutMs: number;
  getMs: number;
  postMs: number;
  freshMs: number;
}

/** One run on a fresh control plane, plaintext or TLS: p50 of each measure. */
async function tlsRun(pki: TestPki | null): Promise<TlsRun> {
  const cp = createFakeControlPlane({
    bootstrapTokens: [{ name: 'bench', role: 'operator', token: TOKEN, maxStreams: BENCH_MAX_STREAMS }],
    ...(pki === null ? {} : { tlsCertPem: pki.server.certPem, tlsKeyPem: pki.server.keyPem }),
  });
  await cp.start();
  try {
    const watches = Array.from({ length: TLS_WATCHERS }, (_, i) =>
      openWatch(cp.grpcAddress, {
        token: TOKEN,
        sidecarId: `bench-${i}`,
        ...(pki === null ? {} : { ca: pki.ca.certPem }),
      }),
    );
    const versionOf = (w: TestWatch): number => {
      const e = w.events.at(-1);
      return Number(e?.delta?.to_version ?? e?.snapshot?.version ?? 0);
    };
    await waitUntil(() => watches.every((w) => versionOf(w) >= 1));
    const agent = new (pki === null ? HttpAgent : HttpsAgent)({
      keepAlive: true,
      maxSockets: 1,
      ...(pki === null ? {} : { ca: pki.ca.certPem }),
    });
    const call = (method: string, path: string, body: string | undefined, a: HttpAgent | false) =>
      admin(cp.url, method, path, body, a, pki);
    const fan: number[] = [];
    const post: number[] = [];
    for (let i = 0; i < TLS_CHANGES; i++) {
      const body = JSON.stringify({ scope: 'sku', target: 'SKU-1', reason: 'bench' });
      const t0 = performance.now();
      const version = JSON.parse(
        await call('POST', `/v1/kill-switches/${i % 2 === 0 ? 'set' : 'clear'}`, body, agent),
      ).snapshot.version as number;
      post.push(performance.now() - t0);
      await waitUntil(() => watches.every((w) => versionOf(w) >= version));
      fan.push(performance.now() - t0);
    }
    const get: number[] = [];
    const fresh: number[] = [];
    for (let i = 0; i < TLS_REQUESTS; i++) {
      let t0 = performance.now();
      await call('GET', '/v1/status', undefined, agent);
      get.push(performance.now() - t0);
      t0 = performance.now();
      await call('GET', '/v1/status', undefined, false);
      fresh.push(performance.now() - t0);
    }
    agent.destroy();
    for (const w of watches) w.close();
    return {
      fanOutMs: quantile(fan, 0.5),
      postMs: quantile(post, 0.5),
      getMs: quantile(get, 0.5),
      freshMs: quantile(fresh, 0.5),
    };
  } finally {
    await cp.stop();
  }
}

async function tlsCost(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'atp-bench-tls-'));
  try {
    const pki = makeTestPki(dir);
    const plain: TlsRun[] = [];
    const tls: TlsRun[] = [];
    for (let i = 0; i < TLS_RUNS; i++) {
      plain.push(await tlsRun(null));
      tls.push(await tlsRun(pki));
    }
    const med = (runs: TlsRun[], k: keyof TlsRun) =>
      quantile(
        runs.map((r) => r[k]),
        0.5,
      );
    const out: Record<string, number> = { runs: TLS_RUNS, watchers: TLS_WATCHERS };
    for (const [name, k] of [
      ['fanOut', 'fanOutMs'],
      ['get', 'getMs'],
      ['post', 'postMs'],
      ['fresh', 'freshMs'],
    ] as const) {
      out[`${name}PlainMs`] = med(plain, k);
      out[`${name}TlsMs`] = med(tls, k);
      out[`${name}Ratio`] = med(tls, k) / med(plain, k);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One admin request; `agent` false = a new connection (and, over TLS, a new handshake). */
function admin(
  base: string,
  method: string,
  path: string,
  body: string | undefined,
  agent: HttpAgent | false,
  pki: TestPki | null,
): Promise<string> {
  const url = new URL(path, base);
  const send = pki === null ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method,
        agent,
        ...(pki === null ? {} : { ca: pki.ca.certPem }),
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => ((res.statusCode ?? 500) < 300 ? resolve(text) : reject(new Error(text))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function waitUntil(ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > until) throw new Error('bench: condition not reached in time');
    await new Promise((r) => setImmediate(r));
  }
}

export async function main(): Promise<number> {
  const fan = await fanOut();
  console.log(
    `watch fan-out to ${fan.watchers} sidecars: all applied p50 ${fan.allWatchersP50Ms!.toFixed(1)} ms, p99 ${fan.allWatchersP99Ms!.toFixed(1)} ms; ` +
      `baseline (change accepted) p50 ${fan.acceptP50Ms!.toFixed(1)} ms; ratio ${fan.ratioP50!.toFixed(2)}`,
  );
  const tls = await tlsCost();
  const pair = (name: string, digits: number) =>
    `${(tls[`${name}PlainMs`] ?? Number.NaN).toFixed(digits)} -> ${(tls[`${name}TlsMs`] ?? Number.NaN).toFixed(digits)} ms ` +
    `(x${(tls[`${name}Ratio`] ?? Number.NaN).toFixed(2)})`;
  console.log(
    `TLS cost (median of ${TLS_RUNS} runs, plaintext -> TLS): watch fan-out to ${TLS_WATCHERS} streams p50 ${pair('fanOut', 1)}; ` +
      `admin GET kept-alive ${pair('get', 2)}; admin change kept-alive ${pair('post', 2)}; ` +
      `admin GET on a new connection ${pair('fresh', 2)}`,
  );
  const sw = await swaps();
  console.log(
    `model swap (verify + session + warm-up + activate) p50 ${sw.promoteP50Ms!.toFixed(1)} ms, p99 ${sw.promoteP99Ms!.toFixed(1)} ms; ` +
      `baseline (activate a loaded model = rollback) p50 ${(sw.rollbackActivateP50Ms! * 1000).toFixed(1)} us; ratio ${sw.ratioP50!.toFixed(0)}`,
  );
  mkdirSync(dirname(OUT_FILE), { recursive: true });
  writeFileSync(
    OUT_FILE,
    JSON.stringify({ date: new Date().toISOString(), fanOut: fan, swaps: sw, tls }, null, 2),
  );
  return EXIT_OK;
}

runMain(import.meta.url, main);
