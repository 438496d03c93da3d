/**
 * Acceptance: 1M resident (sku,node) records in the hot cache use < 128 MB.
 * Measured as growth of V8 heap plus ArrayBuffer memory (the slab lives in
 * typed arrays) after a forced GC, for 250K SKUs x 4 nodes.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { NODE_RECORD_WIDTH, R, RECORD_WIDTH } from '../../../features/src/record-layout.js';
import { HotCache } from '../../../sidecar/src/cache/hot-cache.js';

const RECORDS = 1_000_000;
const NODES_PER_SKU = 4;
const BUDGET_BYTES = 128 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function used(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

t.test('1M resident (sku,node) records fit in 128 MB', async (t) => {
  const nodes = Array.from({ length: 2000 }, (_, i) => `WH-${i}`);
  const recs = new Float64Array(NODES_PER_SKU * RECORD_WIDTH);
  const nodeRecs = new Float64Array(NODES_PER_SKU * NODE_RECORD_WIDTH);
  const before = used();
  const cache = new HotCache({ maxRecords: RECORDS, ttlMsForNode: () => 2_500 });
  for (let s = 0; s < RECORDS / NODES_PER_SKU; s++) {
    const ids: string[] = [];
    for (let k = 0; k < NODES_PER_SKU; k++) {
      ids.push(nodes[(s * 7 + k * 13) % nodes.length]!);
      recs[k * RECORD_WIDTH + R.onHand] = s % 500;
      recs[k * RECORD_WIDTH + R.lastStockEventMs] = 1.7e12 + s;
    }
    cache.put(`SKU-${String(s).padStart(8, '0')}`, { nodeIds: ids, recs, nodeRecs }, 0);
  }
  const bytes = used() - before;
  t.equal(cache.records, RECORDS, 'every record is resident (nothing evicted)');
  t.equal(cache.stats.evictions, 0);
  const perRecord = bytes / RECORDS;
  t.comment(
    `hot cache: ${RECORDS} records, ${(bytes / 2 ** 20).toFixed(1)} MiB, ${perRecord.toFixed(1)} bytes/record`,
  );
  t.ok(bytes < BUDGET_BYTES, `${(bytes / 2 ** 20).toFixed(1)} MiB < 128 MiB`);
  t.equal(cache.read('SKU-00012345')!.recs[R.onHand], 12345 % 500, 'and still readable');
});
