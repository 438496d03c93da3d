import t from 'tap';
import { MemoryFeatureStore } from '../../../adapters/src/memory/memory-feature-store.js';
import { FEATURE_COUNT, fillFeatureVector } from '../../../features/src/feature-vector.js';
import { DEFAULT_BATCH_FEATURES, type NodeInfo } from '../../../features/src/node-profile.js';
import { NODE_RECORD_WIDTH, R, RECORD_WIDTH } from '../../../features/src/record-layout.js';
import type { SkuView } from '../../../features/src/store-ports.js';
import { HOT_CACHE_TTL_MS, HotCache, STALE_SERVE_MAX_MS } from '../../../sidecar/src/cache/hot-cache.js';
import { ev, T0 } from '../../helpers/events.js';
import { TINY_NODES } from '../../helpers/tiny-world.js';

const typeOf = new Map(TINY_NODES.map((n) => [n.nodeId, n.nodeType]));
const ttlMsForNode = (id: string) => HOT_CACHE_TTL_MS[typeOf.get(id) ?? 'warehouse'];

/** A store with varied history on SKU-1 at every tiny node (sales, counts, cancellations). */
function richStore(): MemoryFeatureStore {
  const s = new MemoryFeatureStore();
  for (const n of TINY_NODES) {
    const o = { sku: 'SKU-1', node: n.nodeId };
    s.apply(ev('heartbeat', 0, 1, { node: n.nodeId, atMs: T0 + 50_000 }));
    s.apply(ev('receipt', 40, 1, { ...o, atMs: T0 + 1_000 }));
    s.apply(ev('sale', 3, 2, { ...o, atMs: T0 + 2_345 }));
    s.apply(ev('reservation', 2, 3, { ...o, atMs: T0 + 3_000 }));
    s.apply(ev('cancellation', 1, 4, { ...o, atMs: T0 + 4_000 }));
    s.apply(ev('cycle-count', 33, 5, { ...o, atMs: T0 + 5_500 }));
    s.apply(ev('sale', 1, 6, { ...o, atMs: T0 + 7_777 }));
  }
  return s;
}

function features(view: SkuView, i: number, node: NodeInfo, nowMs: number): Float32Array {
  const out = new Float32Array(FEATURE_COUNT);
  const nodeRec = view.nodeRecs.subarray(i * NODE_RECORD_WIDTH, (i + 1) * NODE_RECORD_WIDTH);
  fillFeatureVector(out, 0, view.recs, i * RECORD_WIDTH, nodeRec, node, DEFAULT_BATCH_FEATURES, {
    qty: 2,
    nowMs,
    skuRatePerMin: 3,
    streamLagMs: 0,
  });
  return out;
}

t.test('a cached SKU yields bit-for-bit the feature vectors of the store it came from', async (t) => {
  const store = richStore();
  const cache = new HotCache({ maxRecords: 16, ttlMsForNode });
  const direct = store.readSkuSync('SKU-1');
  t.ok(cache.put('SKU-1', direct, T0));
  const cached = cache.read('SKU-1')!;
  t.same(cached.nodeIds, direct.nodeIds);
  const now = T0 + 60_000;
  direct.nodeIds.forEach((id, i) => {
    const node = TINY_NODES.find((n) => n.nodeId === id)!;
    t.same([...features(cached, i, node, now)], [...features(direct, i, node, now)], `${id} features equal`);
  });
});

t.test(
  'a SKU expires after the smallest freshness TTL of its nodes and is served stale only when asked',
  async (t) => {
    const cache = new HotCache({ maxRecords: 16, ttlMsForNode });
    cache.put('SKU-1', richStore().readSkuSync('SKU-1'), T0);
    const ttl = Math.min(HOT_CACHE_TTL_MS.warehouse, HOT_CACHE_TTL_MS.store, HOT_CACHE_TTL_MS.seller);
    t.equal(cache.lookup('SKU-1', T0 + ttl - 1), 'hit');
    t.equal(cache.lookup('SKU-1', T0 + ttl), 'stale');
    t.equal(cache.lookup('SKU-1', T0 + STALE_SERVE_MAX_MS + 1), 'miss', 'too old even to serve stale');
    const sellerOnly = new HotCache({ maxRecords: 4, ttlMsForNode });
    const view = richStore().readSkuSync('SKU-1');
    const i = view.nodeIds.indexOf('SL-1');
    sellerOnly.put(
      'S',
      {
        nodeIds: ['SL-1'],
        recs: view.recs.slice(i * RECORD_WIDTH, (i + 1) * RECORD_WIDTH),
        nodeRecs: view.nodeRecs.slice(i * NODE_RECORD_WIDTH, (i + 1) * NODE_RECORD_WIDTH),
      },
      T0,
    );
    t.equal(
      sellerOnly.lookup('S', T0 + HOT_CACHE_TTL_MS.warehouse + 1),
      'hit',
      'a third-party node lives longer',
    );
  },
);

t.test('the record bound evicts least recently used SKUs first', async (t) => {
  const one = (onHand: number): SkuView => {
    const recs = new Float64Array(RECORD_WIDTH);
    recs[R.onHand] = onHand;
    return { nodeIds: ['WH-1'], recs, nodeRecs: new Float64Array(NODE_RECORD_WIDTH) };
  };
  const cache = new HotCache({ maxRecords: 3, ttlMsForNode });
  cache.put('A', one(1), T0);
  cache.put('B', one(2), T0);
  cache.put('C', one(3), T0);
  cache.read('A');
  cache.put('D', one(4), T0);
  t.equal(cache.records, 3);
  t.equal(cache.lookup('B', T0), 'miss', 'B was least recently used');
  t.equal(cache.read('A')!.recs[R.onHand], 1);
  t.equal(cache.read('D')!.recs[R.onHand], 4);
  t.equal(cache.stats.evictions, 1);
  cache.put('A', one(10), T0);
  t.equal(cache.read('A')!.recs[R.onHand], 10, 'a re-put replaces the copy');
  t.equal(cache.records, 3, 'and frees the old records');
});

t.test('values that do not fit the packed layout are not cached', async (t) => {
  const cache = new HotCache({ maxRecords: 4, ttlMsForNode });
  const recs = new Float64Array(RECORD_WIDTH);
  recs[R.receivedUnits] = 2 ** 33;
  t.notOk(cache.put('BIG', { nodeIds: ['WH-1'], recs, nodeRecs: new Float64Array(NODE_RECORD_WIDTH) }, T0));
  t.equal(cache.lookup('BIG', T0), 'miss');
  t.equal(cache.stats.uncacheable, 1);
});

t.test('an unknown SKU is cached as empty (negative caching)', async (t) => {
  const cache = new HotCache({ maxRecords: 4, ttlMsForNode });
  cache.put('NOPE', { nodeIds: [], recs: new Float64Array(0), nodeRecs: new Float64Array(0) }, T0);
  t.equal(cache.lookup('NOPE', T0), 'hit');
  t.same(cache.read('NOPE')!.nodeIds, []);
});
