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
 *
 *   node --import tsx bench/control-plane.bench.ts
 *
 * Writes bench/out/control-plane.json.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFakeControlPlane } from '../control-plane/src/control-plane.js';
import { MANIFEST_FILE } from '../proto/v1/model-manifest.js';
import { createOnnxRanker } from '../sidecar/src/adapters/onnx/onnx-ranker.js';
import { ControlWatchClient } from '../sidecar/src/control/control-watch-client.js';
import { ModelRegistry } from '../sidecar/src/model/model-registry.js';
import { writeSyntheticBundle } from '../training/src/bundle/synthetic-bundle.js';

const WATCHERS = 100;
const CHANGES = 30;
const SWAPS = 20;
const TOKEN = 'bench-operator-token-000000';
const OUT_FILE = join(dirname(fileURLToPath(import.meta.url)), 'out', 'control-plane.json');

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function fanOut(): Promise<Record<string, number>> {
  const cp = createFakeControlPlane({ bootstrapTokens: [{ name: 'bench', role: 'operator', token: TOKEN }] });
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

const fan = await fanOut();
console.log(
  `watch fan-out to ${fan.watchers} sidecars: all applied p50 ${fan.allWatchersP50Ms!.toFixed(1)} ms, p99 ${fan.allWatchersP99Ms!.toFixed(1)} ms; ` +
    `baseline (change accepted) p50 ${fan.acceptP50Ms!.toFixed(1)} ms; ratio ${fan.ratioP50!.toFixed(2)}`,
);
const sw = await swaps();
console.log(
  `model swap (verify + session + warm-up + activate) p50 ${sw.promoteP50Ms!.toFixed(1)} ms, p99 ${sw.promoteP99Ms!.toFixed(1)} ms; ` +
    `baseline (activate a loaded model = rollback) p50 ${(sw.rollbackActivateP50Ms! * 1000).toFixed(1)} us; ratio ${sw.ratioP50!.toFixed(0)}`,
);
mkdirSync(dirname(OUT_FILE), { recursive: true });
writeFileSync(OUT_FILE, JSON.stringify({ date: new Date().toISOString(), fanOut: fan, swaps: sw }, null, 2));
