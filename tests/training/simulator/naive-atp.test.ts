import t from 'tap';
import { FeatureState } from '../../../features/src/feature-state.js';
import { FEATURE_COUNT, FEATURE_NAMES, fillFeatureVector } from '../../../features/src/feature-vector.js';
import { DEFAULT_BATCH_FEATURES } from '../../../features/src/node-profile.js';
import { formatNaiveAtpTable, naiveAtpReport } from '../../../training/src/simulator/naive-atp-report.js';
import { collect } from './sim-fixtures.js';

const EVENTS = 300_000;
const { sim, records } = collect({ seed: 1, maxEvents: EVENTS });
const summary = naiveAtpReport(records, sim.world.nodes);
const rate = (type: string) => summary.rows.find((r) => r.nodeType === type)!.oversellRate;

t.test('naive ATP oversells at every node type, least at warehouses', async (t) => {
  t.comment(`seed 1, ${EVENTS} events\n${formatNaiveAtpTable(summary)}`);
  for (const row of summary.rows) {
    t.ok(row.promised > 500, `${row.nodeType}: ${row.promised} promised`);
    t.ok(row.oversellRate > 0, `${row.nodeType} oversells (${(row.oversellRate * 100).toFixed(2)}%)`);
    t.ok(row.oversellRate < 0.2, `${row.nodeType} oversells less than 20%`);
  }
  t.ok(rate('warehouse') < rate('store'), 'warehouses oversell less than stores');
  t.ok(rate('warehouse') < rate('seller'), 'warehouses oversell less than sellers');
  t.ok(summary.total.oversellRate > 0.01, 'overall a few percent');
});

t.test('oversells concentrate where the shared features say stock is doubtful', async (t) => {
  // Replays the stream and, at each promise, fills the model's feature vector for the promised pair.
  const state = new FeatureState();
  const nodes = new Map(sim.world.nodes.map((n) => [n.nodeId, n]));
  const col = (name: (typeof FEATURE_NAMES)[number]) => FEATURE_NAMES.indexOf(name);
  const vec = new Float32Array(FEATURE_COUNT);
  const seen = new Map<string, string[]>();
  const buckets = new Map<string, { n: number; oversold: number }>();
  for (const r of records) {
    if (r.type === 'event') state.apply(r.event);
    else if (r.type === 'checkout' && r.promisedNode !== null) {
      const node = nodes.get(r.promisedNode)!;
      const ctx = { qty: r.qty, nowMs: r.atMs, skuRatePerMin: 0, streamLagMs: 0 };
      const rec = state.get(r.sku, r.promisedNode);
      fillFeatureVector(vec, 0, rec, 0, state.getNode(r.promisedNode), node, DEFAULT_BATCH_FEATURES, ctx);
      const margin = vec[col('margin')]!;
      const depletion = vec[col('expected_depletion')]! / (margin + 1);
      const sinceCountH = vec[col('since_count_h')]!;
      seen.set(r.checkoutId, [
        margin === 0 ? 'margin 0' : margin >= 5 ? 'margin >= 5' : 'margin 1-4',
        depletion >= 1
          ? 'depletion >= margin'
          : depletion < 0.1
            ? 'depletion < margin / 10'
            : 'depletion between',
        `${node.nodeType}`,
        `${node.nodeType} ${sinceCountH < 1 ? 'counted < 1 h ago' : 'counted >= 1 h ago or never'}`,
      ]);
    } else if (r.type === 'outcome' && r.promisedNode !== null && r.cancelledBy !== 'buyer') {
      for (const name of seen.get(r.checkoutId)!) {
        const b = buckets.get(name) ?? { n: 0, oversold: 0 };
        b.n++;
        if (r.oversold) b.oversold++;
        buckets.set(name, b);
      }
      seen.delete(r.checkoutId);
    }
  }
  const pct = (name: string) => {
    const b = buckets.get(name)!;
    return b.oversold / b.n;
  };
  t.comment(
    [...buckets]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, b]) => `${k}: ${b.oversold}/${b.n} = ${((b.oversold / b.n) * 100).toFixed(2)}%`)
      .join('\n'),
  );
  t.ok(pct('margin 0') > 3 * pct('margin >= 5'), 'promising the last units oversells far more often');
  t.ok(
    pct('depletion >= margin') > 5 * pct('depletion < margin / 10'),
    'fast sellers with a thin margin oversell far more often (velocity x handling time)',
  );
  t.ok(pct('store counted < 1 h ago') < pct('store'), 'a freshly counted store shelf is more trustworthy');
});
