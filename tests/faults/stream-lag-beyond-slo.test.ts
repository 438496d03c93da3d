/**
 * DESIGN.md §6 "stream lag beyond SLO": when the SKU's partition lags past a
 * node type's freshness SLO, that node's threshold gets staleMargin (rules:
 * no promise) and expected unseen sales come off its stock; past the hard
 * limit (HARD_LAG_SLO_MULTIPLE x SLO) the node is unknown: no promise for
 * hot SKUs. Answers are flagged `stream-lag`. Third-party sellers (60 s
 * SLO) are unaffected by a lag that breaks the first-party 5 s SLO.
 */
import t from 'tap';
import type { MemoryStreamHealth } from '../../adapters/src/memory/memory-stream-health.js';
import { FRESHNESS_SLO_MS } from '../../features/src/freshness.js';
import { HARD_LAG_SLO_MULTIPLE } from '../../features/src/node-health.js';
import { MemorySink } from '../../sidecar/src/decision-log/decision-log-sinks.js';
import { testBundle } from '../helpers/model-bundle.js';
import { checkout, worldSidecar } from '../helpers/sidecar-world.js';

async function candidates(sink: MemorySink, sc: ReturnType<typeof worldSidecar>) {
  await sc.decisionLog!.flush();
  const recs = sink.records();
  return (recs[recs.length - 1]!.items as Record<string, unknown>[])[0]!.candidates as {
    node: string;
    health: string;
    threshold: number;
    reason: string;
  }[];
}

t.test('lag past the first-party SLO: stricter thresholds for first-party nodes, flagged', async (t) => {
  const sink = new MemorySink();
  const sc = worldSidecar({ decisionLogSink: sink });
  const m = await sc.models.loadAndActivate(testBundle());
  (sc.streamHealth as MemoryStreamHealth).setLagMs(FRESHNESS_SLO_MS.warehouse + 2_000);
  const d = await sc.engine.check(checkout('IN-STOCK', 1));
  t.ok(d.degradations.includes('stream-lag'));
  const c = await candidates(sink, sc);
  const margin = m.thresholds.checkout.cold + m.thresholds.staleMargin;
  for (const node of ['WH-1', 'ST-1']) {
    const x = c.find((y) => y.node === node)!;
    t.equal(x.health, 'stale', `${node} stale by lag`);
    t.ok(Math.abs(x.threshold - margin) < 1e-9, `${node} threshold + margin`);
  }
  t.equal(c.find((y) => y.node === 'SL-1')!.health, 'fresh', 'the seller SLO is 60 s');
});

t.test('lag past the hard limit: first-party stock unknown, no promise for a hot SKU', async (t) => {
  const sink = new MemorySink();
  const sc = worldSidecar({ decisionLogSink: sink });
  const m = await sc.models.loadAndActivate(testBundle());
  (sc.streamHealth as MemoryStreamHealth).setLagMs(
    FRESHNESS_SLO_MS.warehouse * HARD_LAG_SLO_MULTIPLE + 1_000,
  );
  for (let i = 0; i < m.thresholds.hotSkuRatePerMin + 2; i++)
    await sc.engine.check(checkout('IN-STOCK', 1, `h-${i}`));
  const d = await sc.engine.check(checkout('IN-STOCK', 1, 'hot'));
  t.ok(d.degradations.includes('stream-lag'));
  const c = await candidates(sink, sc);
  for (const node of ['WH-1', 'ST-1']) t.equal(c.find((y) => y.node === node)!.reason, 'NODE_UNKNOWN_STOCK');
  t.ok(
    d.items[0]!.options.every((o) => o.nodeType === 'seller'),
    'only the seller may still be promised',
  );
});

t.test('rules-only: a lagging first-party stream promises nothing from those nodes', async (t) => {
  const sc = worldSidecar();
  (sc.streamHealth as MemoryStreamHealth).setLagMs(FRESHNESS_SLO_MS.warehouse + 2_000);
  const d = await sc.engine.check(checkout('IN-STOCK', 1));
  t.ok(d.degradations.includes('stream-lag'));
  t.ok(d.items[0]!.options.every((o) => o.nodeType === 'seller'));
});
