/**
 * DESIGN.md §6 "warehouse feed silent": a node whose heartbeat is older
 * than HEARTBEAT_STALE_MS is stale (threshold + staleMargin; the rule
 * scorer promises nothing from it); beyond UNKNOWN_HEARTBEAT_STALE_MULTIPLE
 * it is unknown (no promise for hot SKUs, twice the margin for cold ones).
 * Every such answer is flagged `stale-node`.
 */
import t from 'tap';
import { HEARTBEAT_STALE_MS } from '../../features/src/freshness.js';
import { UNKNOWN_HEARTBEAT_STALE_MULTIPLE } from '../../features/src/node-health.js';
import { MAX_THRESHOLD } from '../../sidecar/src/decision/policies/thresholds.js';
import { MemorySink } from '../../sidecar/src/decision-log/decision-log-sinks.js';
import { createSidecar } from '../../sidecar/src/sidecar.js';
import { ev, T0 } from '../helpers/events.js';
import { testBundle } from '../helpers/model-bundle.js';
import { checkout, TEST_INFERENCE_TIMEOUT_MS, WORLD_NOW } from '../helpers/sidecar-world.js';
import { TINY_NODES } from '../helpers/tiny-world.js';

/** Tiny world where WH-1 last spoke `whSilentMs` ago; the others 5 s ago. */
function world(whSilentMs: number, withModel: boolean) {
  const sink = new MemorySink();
  const sc = createSidecar({
    region: 'eu-west',
    clock: () => WORLD_NOW,
    defaultMetrics: false,
    decisionLogSink: sink,
    inferenceTimeoutMs: TEST_INFERENCE_TIMEOUT_MS,
  });
  for (const n of TINY_NODES) {
    sc.directory.upsert(n);
    const age = n.nodeId === 'WH-1' ? whSilentMs : 5_000;
    sc.features.apply(ev('heartbeat', 0, 1, { node: n.nodeId, atMs: WORLD_NOW - age }));
    sc.features.apply(ev('receipt', 50, 1, { sku: 'IN-STOCK', node: n.nodeId, atMs: T0 }));
  }
  return { sc, sink, ready: withModel ? sc.models.loadAndActivate(testBundle()) : Promise.resolve(null) };
}

async function lastCandidates(sc: ReturnType<typeof world>['sc'], sink: MemorySink) {
  await sc.decisionLog!.flush();
  const recs = sink.records();
  const items = recs[recs.length - 1]!.items as Record<string, unknown>[];
  return items[0]!.candidates as { node: string; health: string; threshold: number; reason: string }[];
}

t.test('rules: a silent warehouse is stale, promises nothing, and the answer is flagged', async (t) => {
  const { sc } = world(HEARTBEAT_STALE_MS.warehouse + 10_000, false);
  // Z0-0 is served only by WH-1 (the store is one step away from Z1-1 only).
  const d = await sc.engine.check(checkout('IN-STOCK', 1, 'r-1', 'Z0-0'));
  t.ok(d.degradations.includes('stale-node'));
  t.ok(!d.items[0]!.options.some((o) => o.nodeId === 'WH-1'), 'WH-1 is never promised');
});

t.test('model: a stale node needs threshold + staleMargin', async (t) => {
  const { sc, sink, ready } = world(HEARTBEAT_STALE_MS.warehouse + 10_000, true);
  const m = (await ready)!;
  const d = await sc.engine.check(checkout('IN-STOCK', 1));
  t.ok(d.degradations.includes('stale-node'));
  const wh = (await lastCandidates(sc, sink)).find((c) => c.node === 'WH-1')!;
  t.equal(wh.health, 'stale');
  t.ok(Math.abs(wh.threshold - (m.thresholds.checkout.cold + m.thresholds.staleMargin)) < 1e-9, 'one margin');
  const st = (await lastCandidates(sc, sink)).find((c) => c.node === 'ST-1')!;
  t.equal(st.threshold, m.thresholds.checkout.cold, 'fresh nodes keep the plain threshold');
});

t.test('model: a node silent past the hard limit is unknown: no promise for a hot SKU', async (t) => {
  const { sc, sink, ready } = world(
    HEARTBEAT_STALE_MS.warehouse * UNKNOWN_HEARTBEAT_STALE_MULTIPLE + 10_000,
    true,
  );
  const m = (await ready)!;
  const cold = await sc.engine.check(checkout('IN-STOCK', 1, 'cold'));
  t.ok(cold.degradations.includes('stale-node'));
  let wh = (await lastCandidates(sc, sink)).find((c) => c.node === 'WH-1')!;
  t.equal(wh.health, 'unknown');
  t.ok(
    Math.abs(
      wh.threshold - Math.min(MAX_THRESHOLD, m.thresholds.checkout.cold + 2 * m.thresholds.staleMargin),
    ) < 1e-9,
    'two margins (capped)',
  );
  // Make the SKU hot.
  for (let i = 0; i < m.thresholds.hotSkuRatePerMin + 2; i++)
    await sc.engine.check(checkout('IN-STOCK', 1, `h-${i}`));
  const hot = await sc.engine.check(checkout('IN-STOCK', 1, 'hot'));
  wh = (await lastCandidates(sc, sink)).find((c) => c.node === 'WH-1')!;
  t.equal(wh.reason, 'NODE_UNKNOWN_STOCK');
  t.ok(!hot.items[0]!.options.some((o) => o.nodeId === 'WH-1'));
  t.ok(hot.degradations.includes('stale-node'));
});
