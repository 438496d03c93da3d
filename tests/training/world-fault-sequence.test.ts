/**
 * The closed-loop world's fault scenarios (issue 12: "each fault scenario
 * ends with its degradation visible in answers and metrics, and with no unit
 * promised beyond stock"), in ONE run with every real process: the
 * scenarios play one after another, each in its own window of the live
 * phase (scenarios.ts sequenceWindows), so the suite pays the world's
 * start-up once.
 *
 * - feed-outage: the busiest nodes' feeds go silent: answers and the
 *   sidecars' counters carry `stale-node`;
 * - flash-sale: a hot SKU's demand x40: its checkouts reach the data plane
 *   and nothing is promised beyond stock (no degradation is expected);
 * - stream-lag: the ingester frozen (SIGSTOP), then resumed: `stream-lag`;
 * - model-crash: a sidecar restarted on a bundle it cannot verify: `model`;
 * - control-plane-down: the control plane killed, restarted at the end:
 *   `control-plane` (the sidecars call the watch lost after
 *   CONTROL_LOST_AFTER_MS wall, so this window is the longest).
 *
 * A steady world with a stream-lag window is the closed-loop test
 * (world-closed-loop.test.ts).
 *
 * NOT YET GREEN, so skipped unless ATP_WORLD_FAULT_SEQUENCE=1: on the shared
 * 2-core box (load average ~20 on 2026-12-02) almost every checkout of this
 * run timed out before reaching a sidecar (4,830 of 4,967), so the windows'
 * answers carried nothing; the machinery itself ran (every window played
 * in order, each fault injected and undone, counters scraped, Redis equal
 * to the world). Run it on a quiet box: ~10 min wall on the loaded one.
 * Per window: the expected degradation in the answers of checkouts inside
 * it, the sidecars' atp_degradations_total{degradation} grown over it, and
 * no promise beyond free stock. For the run: drained, every outcome once,
 * Redis equals the world (the frozen ingester lost and duplicated nothing).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { ScenarioStep } from '../../training/src/world/scenarios.js';
import { kcatAvailable } from '../../training/src/world/supervisor/kafka-mock.js';
import { redisServerAvailable } from '../../training/src/world/supervisor/redis-process.js';
import { windowIncrease } from '../../training/src/world/supervisor/scenario-faults.js';
import { WORLD_PRESETS } from '../../training/src/world/world-presets.js';
import { runWorld } from '../../training/src/world/world-run.js';

const MS_PER_MIN = 60_000;
// At x20 a simulated minute is 3 wall seconds; the control plane's window (14 min) is 42 s, past the 30 s lost bound.
const SEQUENCE: ScenarioStep[] = [
  { name: 'feed-outage', minutes: 3 },
  { name: 'flash-sale', minutes: 3 },
  { name: 'stream-lag', minutes: 3 },
  { name: 'model-crash', minutes: 4 },
  { name: 'control-plane-down', minutes: 14 },
];

t.test(
  'every fault scenario in its own window: its degradation in answers and metrics, promises within stock',
  {
    skip:
      !kcatAvailable() || !redisServerAvailable()
        ? 'needs kcat and redis-server'
        : process.env.ATP_WORLD_FAULT_SEQUENCE !== '1'
          ? 'not yet green on a loaded box (see the header): set ATP_WORLD_FAULT_SEQUENCE=1 to run it'
          : false,
  },
  async (t) => {
    const outDir = mkdtempSync(join(tmpdir(), 'atp-world-faults-'));
    t.teardown(() => rmSync(outDir, { recursive: true, force: true }));
    const r = await runWorld({
      world: {
        seed: 4,
        sim: WORLD_PRESETS.small,
        warmupHours: 0.5,
        liveMinutes: 38,
        answerTimeoutMs: MS_PER_MIN,
        scenarioSequence: SEQUENCE,
      },
      policy: 'model',
      sidecars: 2,
      speed: 20,
      filterTimeoutMs: 500,
      outDir,
      progress: { write: () => true },
    });
    const s = r.summary;
    t.comment(`wall seconds ${JSON.stringify(r.wallSeconds)}; answers ${JSON.stringify(s.answers)}`);
    t.same(
      s.scenarios.map((w) => w.name),
      SEQUENCE.map((st) => st.name),
      'every scenario played, in order',
    );

    for (const w of s.scenarios) {
      t.test(w.name, async (t) => {
        t.ok(w.window !== null, 'the scenario had a window');
        if (w.window === null) return;
        const from = (w.window.fromMs - s.timeline.liveFromMs) / MS_PER_MIN;
        const until = (w.window.untilMs - s.timeline.liveFromMs) / MS_PER_MIN;
        const counters = r.windowCounters[w.name];
        t.comment(
          `window ${from}-${until} min: ${w.checkouts} checkouts, degraded ${JSON.stringify(w.degradedByReason)}; counters ${JSON.stringify(counters)}`,
        );
        t.ok(w.checkouts > 0, `checkouts inside the window (${w.checkouts})`);
        for (const d of w.expectedDegradations) {
          // Visible in answers: checkouts inside the window were answered with it.
          t.ok((w.degradedByReason[d] ?? 0) > 0, `answers carried ${d}`);
          // Visible in metrics: the sidecars' counter grew over the window.
          t.ok(counters?.atEnd !== null && counters !== undefined, 'counters scraped at the window end');
          const grown = counters === undefined ? 0 : windowIncrease(counters, d);
          t.ok(grown > 0, `atp_degradations_total{degradation="${d}"} grew over the window (${grown})`);
        }
        if (w.name === 'flash-sale') {
          t.ok(w.flashSkus.length === 1, `a flash-sale SKU (${w.flashSkus.join(', ')})`);
          t.ok(w.flashSkuCheckouts > 0, `its checkouts reached the data plane (${w.flashSkuCheckouts})`);
        }
        // Safe: nothing promised beyond free stock inside the window.
        t.equal(w.promisedBeyondStock, 0, 'no promise beyond free physical stock');
      });
    }
    t.equal(s.scenario.name, 'feed-outage', "the summary's scenario is the sequence's first");
    t.equal(s.scenarios.find((w) => w.name === 'stream-lag')?.supervisorFault, 'pause-ingester');

    // Safe over the whole run: nothing promised beyond free stock; every promise resolved.
    t.equal(s.promisedBeyondStock, 0, 'no promise beyond free physical stock');
    t.ok(s.drained);
    t.equal(s.outcomes.missing, 0);
    t.equal(s.outcomes.duplicates, 0);

    // The frozen ingester caught up and the restarts lost nothing: Redis equals the world's view.
    t.same(r.audit.examples, []);
    t.ok(r.audit.equal, `Redis equals the world (${r.audit.pairs} pairs)`);
  },
);
