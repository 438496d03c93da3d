/**
 * Acceptance: 100 model swaps in a running sidecar under traffic, each
 * driven by the control plane (`atpctl model promote`) through the watch
 * stream, the bundle download, signature and sha256 checks, a new
 * onnxruntime session, warm-up, activation and the release of the session
 * two versions back. No request fails, no session is left behind, and
 * resident memory settles: RSS is printed before, during and after
 * (onnxruntime sessions are known to leak when created and released
 * repeatedly).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { parsePublicKey } from '../../control-plane/src/models/bundle-signature.js';
import { MODEL_CACHE_DIR } from '../../sidecar/src/control/control-link.js';
import {
  signDir,
  startControlWorld,
  TOKENS,
  tempDir,
  waitFor,
} from '../control-plane/helpers/control-world.js';
import {
  DEMO_IN_STOCK_SKU,
  sidecarCheck,
  startLinkedSidecar,
  stateDirIn,
} from '../control-plane/helpers/mesh-world.js';
import { copyBundle, editManifest, testBundle } from '../helpers/model-bundle.js';

const SWAPS = 100;
const SWAP_BUDGET_MS = 10_000;
const TRAFFIC_LOOPS = 3;
/** RSS samples after these swaps. */
const SAMPLE_AT = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
/** Allowed RSS growth over the second half of the run (after a full GC): bounds a per-swap leak to ~0.6 MiB. */
const SECOND_HALF_RSS_GROWTH_MAX_MIB = 32;

const mib = (b: number) => b / (1024 * 1024);

/** A full GC before each sample, so the numbers show native memory (sessions), not garbage waiting. */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function rssMiB(): number {
  gc();
  return mib(process.memoryUsage().rss);
}

t.test(`${SWAPS} model swaps under traffic: no failed request, sessions released, RSS settles`, async (t) => {
  // Step 1: 100 signed bundle versions (two trained models, re-versioned), pushed to the control plane.
  const w = await startControlWorld(t);
  const bases = [testBundle('gbdt-a', 1), testBundle('gbdt-b', 2)];
  const versions = Array.from({ length: SWAPS + 1 }, (_, i) => `swap-${String(i).padStart(3, '0')}`);
  for (const [i, v] of versions.entries()) {
    const dir = copyBundle(bases[i % 2]!, v, (d) =>
      editManifest(d, (m) => {
        m.version = v;
      }),
    );
    signDir(dir, w.keys);
    const r = await w.atpctl(['model', 'push', dir, '--reason', 'swap test'], TOKENS.admin);
    t.equal(r.code, 0, r.stderr);
  }

  // Step 2: a linked sidecar serving the first version, under steady traffic.
  const stateDir = stateDirIn(tempDir(t));
  const sc = await startLinkedSidecar(t, w, {
    stateDir,
    trustedKeys: [parsePublicKey(w.keys.publicPem, 't')],
  });
  await w.atpctl(['model', 'promote', versions[0]!, '--reason', 'start'], TOKENS.operator);
  await waitFor(() => sc.sidecar.engine.modelVersion === versions[0], SWAP_BUDGET_MS, 'first model');
  let running = true;
  let requests = 0;
  let fallbacks = 0;
  const failures: string[] = [];
  const loops = Array.from({ length: TRAFFIC_LOOPS }, async (_, k) => {
    while (running) {
      const r = await sidecarCheck(sc.httpPort, DEMO_IN_STOCK_SKU, `swap-${k}-${++requests}`).catch(
        (e: Error) => ({ status: 0, degraded: e.message, model: null, decision: null }),
      );
      if (r.status !== 200 || (r.decision !== 'allow' && r.decision !== 'deny'))
        failures.push(`${r.status} ${r.degraded}`);
      else if (r.degraded.split(',').includes('model')) fallbacks++;
    }
  });
  t.teardown(async () => {
    running = false;
    await Promise.all(loops);
  });
  await waitFor(() => requests > 200, 10_000, 'warm traffic');
  const rssBefore = rssMiB();
  const samples: { swap: number; rssMiB: number }[] = [{ swap: 0, rssMiB: rssBefore }];

  // Step 3: 100 promotions, each waited for until the sidecar answers with the new version.
  const swapMs: number[] = [];
  for (let i = 1; i <= SWAPS; i++) {
    const t0 = performance.now();
    const r = await w.atpctl(['model', 'promote', versions[i]!, '--reason', `swap ${i}`], TOKENS.operator);
    if (r.code !== 0) t.fail(r.stderr);
    await waitFor(() => sc.sidecar.engine.modelVersion === versions[i], SWAP_BUDGET_MS, `swap ${i}`, 2);
    swapMs.push(performance.now() - t0);
    if (SAMPLE_AT.includes(i)) {
      await sc.link.follower.idle();
      samples.push({ swap: i, rssMiB: rssMiB() });
    }
  }
  await sc.link.follower.idle();
  running = false;
  await Promise.all(loops);

  // Step 4: the numbers.
  const rssAfter = rssMiB();
  swapMs.sort((a, b) => a - b);
  const pct = (q: number) => swapMs[Math.min(swapMs.length - 1, Math.floor(q * swapMs.length))]!.toFixed(0);
  t.comment(
    `RSS (after a full GC) before ${rssBefore.toFixed(1)} MiB, after ${SWAPS} swaps ${rssAfter.toFixed(1)} MiB (${(rssAfter - rssBefore).toFixed(1)} MiB)`,
  );
  t.comment(`RSS by swap: ${samples.map((s) => `${s.swap}: ${s.rssMiB.toFixed(0)}`).join(', ')} MiB`);
  t.comment(
    `swap time (promote -> answering) p50 ${pct(0.5)} ms, p90 ${pct(0.9)} ms, max ${swapMs.at(-1)!.toFixed(0)} ms`,
  );
  t.comment(
    `${requests} decisions during the swaps, ${failures.length} failed, ${fallbacks} answered by the rule scorer (ranker over its budget)`,
  );

  t.same(failures, [], 'no failed request');
  t.equal(sc.sidecar.engine.modelVersion, versions[SWAPS]);
  t.ok(
    sc.sidecar.models.liveSessions <= 2,
    `live sessions after the run: ${sc.sidecar.models.liveSessions} (active + previous)`,
  );
  t.same(sc.sidecar.models.versions().sort(), [versions[SWAPS - 1], versions[SWAPS]].sort());
  const mid = samples.find((s) => s.swap === 50)!.rssMiB;
  const end = samples.at(-1)!.rssMiB;
  t.ok(
    end - mid < SECOND_HALF_RSS_GROWTH_MAX_MIB,
    `RSS over swaps 50..100 grew ${(end - mid).toFixed(1)} MiB (< ${SECOND_HALF_RSS_GROWTH_MAX_MIB})`,
  );
  const cached = readdirSync(join(stateDir, MODEL_CACHE_DIR)).sort();
  t.same(cached, [versions[SWAPS - 1], versions[SWAPS]].sort(), 'the bundle cache holds only what is loaded');
});
