/**
 * A closed-loop world under a fault (issue 12: "each fault scenario ends
 * with its degradation visible in answers and metrics, and with no unit
 * promised beyond stock"), with every real process: the stream-lag
 * scenario freezes the ingester (SIGSTOP) for its window and lets it catch
 * up (SIGCONT). Answers inside the window carry `stream-lag`, the sidecars
 * count it, nothing is promised beyond free stock, and once the ingester
 * resumed Redis again equals the world's view (the pause lost and
 * duplicated nothing).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { kcatAvailable } from '../../training/src/world/supervisor/kafka-mock.js';
import { redisServerAvailable } from '../../training/src/world/supervisor/redis-process.js';
import { WORLD_PRESETS } from '../../training/src/world/world-presets.js';
import { runWorld } from '../../training/src/world/world-run.js';

const MS_PER_MIN = 60_000;

t.test(
  'stream-lag: a frozen ingester shows in answers and metrics, promises stay within stock, nothing is lost',
  { skip: !kcatAvailable() || !redisServerAvailable() ? 'needs kcat and redis-server' : false },
  async (t) => {
    const outDir = mkdtempSync(join(tmpdir(), 'atp-world-lag-'));
    t.teardown(() => rmSync(outDir, { recursive: true, force: true }));
    const r = await runWorld({
      world: {
        seed: 4,
        sim: WORLD_PRESETS.small,
        warmupHours: 0.5,
        liveMinutes: 4,
        answerTimeoutMs: MS_PER_MIN,
        scenario: 'stream-lag',
      },
      policy: 'model',
      sidecars: 2,
      speed: 20,
      filterTimeoutMs: 500,
      outDir,
      progress: { write: () => true },
    });
    const s = r.summary;
    const w = s.scenario.window;
    t.ok(w !== null, 'the scenario had a window');
    if (w === null) return;
    t.comment(
      `window ${(w.fromMs - s.timeline.liveFromMs) / MS_PER_MIN}-${(w.untilMs - s.timeline.liveFromMs) / MS_PER_MIN} min`,
    );
    t.comment(
      `degraded ${JSON.stringify(s.degradations.byReason)}; at window end ${JSON.stringify(r.sidecarDegradationsAtWindowEnd)}`,
    );
    t.equal(s.scenario.supervisorFault, 'pause-ingester');

    // Visible in answers: checkouts inside the window were answered with stream-lag.
    // (Decision records are summarised per minute; the minute series counts degraded answers.)
    t.ok((s.degradations.byReason['stream-lag'] ?? 0) > 0, 'answers carried stream-lag');
    // Visible in metrics: the sidecars counted it by the time the window closed.
    const atEnd = r.sidecarDegradationsAtWindowEnd ?? {};
    const counted = Object.values(atEnd).reduce((n, m) => n + (m['stream-lag'] ?? 0), 0);
    t.ok(counted > 0, `atp_degradations_total{degradation="stream-lag"} > 0 at the window end (${counted})`);

    // Safe: nothing promised beyond free stock; every promise resolved.
    t.equal(s.promisedBeyondStock, 0, 'no promise beyond free physical stock');
    t.ok(s.drained);
    t.equal(s.outcomes.missing, 0);
    t.equal(s.outcomes.duplicates, 0);

    // The frozen ingester caught up: Redis equals the world's view again.
    t.same(r.audit.examples, []);
    t.ok(r.audit.equal, `Redis equals the world (${r.audit.pairs} pairs)`);
  },
);
