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
import { parsePublicKey } from '../../proto/v1/bundle-signature.js';
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
/** RSS samples after these swaps (every 5th). */
const SAMPLE_AT = Array.from({ length: SWAPS / 5 }, (_, k) => (k + 1) * 5);
/**
 * "Settles": the median RSS of the samples at swaps 80..100 against the median at 40..60 (medians of
 * five, so one noisy sample on a busy machine decides nothing), 40 swaps apart at their centres.
 */
const MID_WINDOW: [number, number] = [40, 60];
const END_WINDOW: [number, number] = [80, 100];
/** Allowed RSS growth per swap over the second half of the run (after a full GC). */
const MAX_RSS_GROWTH_PER_SWAP_MIB = 0.64;

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
  const medianIn = ([lo, hi]: [number, number]) => {
    const xs = samples.filter((x) => x.swap >= lo && x.swap <= hi).map((x) => x.rssMiB);
    return xs.sort((a, b) => a - b)[xs.length >> 1]!;
  };
  const mid = medianIn(MID_WINDOW);
  const end = medianIn(END_WINDOW);
  const span = (END_WINDOW[0] + END_WINDOW[1]) / 2 - (MID_WINDOW[0] + MID_WINDOW[1]) / 2;
  const allowed = MAX_RSS_GROWTH_PER_SWAP_MIB * span;
  t.ok(
    end - mid < allowed,
    `median RSS of swaps ${END_WINDOW.join('..')} minus that of ${MID_WINDOW.join('..')}: ${(end - mid).toFixed(1)} MiB (< ${allowed.toFixed(1)}, ${MAX_RSS_GROWTH_PER_SWAP_MIB} MiB per swap)`,
  );
  const cached = readdirSync(join(stateDir, MODEL_CACHE_DIR)).sort();
  t.same(cached, [versions[SWAPS - 1], versions[SWAPS]].sort(), 'the bundle cache holds only what is loaded');
});
