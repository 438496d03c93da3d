import t from 'tap';
import { FeatureState } from '../../features/src/feature-state.js';
import {
  FEATURE_COUNT,
  FEATURE_NAMES,
  featureSchemaHash,
  fillFeatureVector,
  NEVER_AGE_S,
} from '../../features/src/feature-vector.js';
import { DEFAULT_BATCH_FEATURES, type NodeInfo } from '../../features/src/node-profile.js';
import { ev, T0 } from '../helpers/events.js';

const store: NodeInfo = {
  nodeId: 'ST-1',
  nodeType: 'store',
  region: 'eu-west',
  zone: 'Z1-1',
  handlingHours: 2,
  baseCost: 3,
  serviceRadius: 1,
  dailyOrderCap: 0,
  blackoutHoursUtc: null,
};

function vector(s: FeatureState, qty: number, nowMs: number): Record<string, number> {
  const out = new Float32Array(FEATURE_COUNT);
  fillFeatureVector(out, 0, s.get('SKU-1', 'ST-1'), 0, s.getNode('ST-1'), store, DEFAULT_BATCH_FEATURES, {
    qty,
    nowMs,
    skuRatePerMin: 4,
    streamLagMs: 1500,
  });
  return Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, out[i]!]));
}

t.test('the vector reads stock, ages and context from the state', async (t) => {
  const s = new FeatureState();
  s.apply(ev('receipt', 10, 1, { node: 'ST-1', atMs: T0 }));
  s.apply(ev('reservation', 3, 2, { node: 'ST-1', atMs: T0 + 1000 }));
  s.apply(ev('heartbeat', 0, 1, { node: 'ST-1', atMs: T0 + 2000 }));
  const v = vector(s, 2, T0 + 12_000);
  t.equal(v.on_hand, 10);
  t.equal(v.reserved, 3);
  t.equal(v.atp, 7);
  t.equal(v.margin, 5);
  t.equal(v.stock_age_s, 12, 'the reservation does not refresh stock age');
  t.equal(v.heartbeat_age_s, 10);
  t.equal(v.node_type, 1);
  t.equal(v.sku_rate_per_min, 4);
  t.equal(v.stream_lag_s, 1.5);
  t.equal(v.stale, 0);
});

t.test('a never-seen pair and a silent node read as empty and stale', async (t) => {
  const v = vector(new FeatureState(), 1, T0);
  t.equal(v.atp, 0);
  t.equal(v.stock_age_s, NEVER_AGE_S);
  t.equal(v.stale, 1);
});

t.test('the schema hash identifies names and order', async (t) => {
  t.match(featureSchemaHash(), /^[0-9a-f]{16}$/);
  t.equal(new Set(FEATURE_NAMES).size, FEATURE_COUNT, 'names are unique');
});
