/**
 * The skew audit end to end in one process: a sidecar with the committed
 * bundle serves checkouts over a small history and writes the vectors it
 * served to its feature-audit log; the audit recomputes each from the event
 * log with the training code. A clean serving path raises nothing; a
 * serving-only unit bug (the feature reader hands the last stock event time
 * over in seconds, as a codec slip would) is caught on exactly the feature
 * it corrupts.
 */

import { FEATURE_NAMES, featureSchemaHash } from '@mercato/features/feature-vector';
import { R, RECORD_WIDTH } from '@mercato/features/record-layout';
import type { FeatureReader } from '@mercato/features/store-ports';
import { parseFeatureAudit } from '@mercato/proto/v1/feature-audit';
import type { InventoryEvent } from '@mercato/proto/v1/inventory-event';
import t from 'tap';
import { MemoryFeatureStore } from '../../../adapters/src/memory/memory-feature-store.js';
import { MemorySink } from '../../../sidecar/src/decision-log/decision-log-sinks.js';
import { resolveBundleDir } from '../../../sidecar/src/model/model-bundle.js';
import { createSidecar, type Sidecar } from '../../../sidecar/src/sidecar.js';
import { Prng } from '../../../training/src/simulator/prng.js';
import { AuditEventIndex, auditKeys, auditSkew } from '../../../training/src/skew/skew-audit.js';
import { ev, T0 } from '../../helpers/events.js';
import { TINY_NODES } from '../../helpers/tiny-world.js';

const NOW = T0 + 6 * 3_600_000;
const SKUS = Array.from({ length: 8 }, (_, i) => `SKEW-${i + 1}`);

/** Six hours of history per (sku,node): receipts, sales, reservations and their ends, cycle counts; heartbeats. */
function history(seed: number): InventoryEvent[] {
  const rng = new Prng(seed);
  const out: InventoryEvent[] = [];
  for (const n of TINY_NODES) {
    let seq = 0;
    for (let at = T0; at < NOW - 10_000; at += 300_000)
      out.push(ev('heartbeat', 0, ++seq, { node: n.nodeId, atMs: at }));
    out.push(ev('heartbeat', 0, ++seq, { node: n.nodeId, atMs: NOW - 10_000 }));
    for (const sku of SKUS) {
      let s = 0;
      let at = T0 + rng.int(0, 600_000);
      const e = (kind: Parameters<typeof ev>[0], q: number) => {
        at += rng.int(60_000, 1_800_000);
        if (at < NOW - 60_000) out.push(ev(kind, q, ++s, { sku, node: n.nodeId, atMs: at }));
      };
      e('receipt', rng.int(20, 60));
      for (let k = 0; k < 6; k++) {
        const r = rng.float();
        if (r < 0.4) e('sale', rng.int(1, 3));
        else if (r < 0.6) e('reservation', 1);
        else if (r < 0.7) e('cancellation', 1);
        else if (r < 0.8) e('cycle-count', rng.int(5, 40));
        else e('return', 1);
      }
    }
  }
  return out.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
}

/** The serving-only bug: the reader hands lastStockEventMs over in seconds. */
function secondsBug(inner: FeatureReader): FeatureReader {
  return {
    async readSku(sku) {
      const view = await inner.readSku(sku);
      const recs = Float64Array.from(view.recs);
      for (let i = 0; i * RECORD_WIDTH < recs.length; i++)
        recs[i * RECORD_WIDTH + R.lastStockEventMs]! /= 1000;
      return { ...view, recs };
    },
  };
}

async function serve(bug: boolean, events: readonly InventoryEvent[]) {
  const features = new MemoryFeatureStore();
  for (const e of events) features.apply(e);
  const audit = new MemorySink();
  const sc: Sidecar = createSidecar({
    region: 'eu-west',
    clock: () => NOW,
    defaultMetrics: false,
    inferenceTimeoutMs: 2_000,
    hotCacheRecords: false,
    features,
    featureReader: bug ? secondsBug(features) : features,
    featureAudit: { sink: audit, rate: 1 },
  });
  for (const n of TINY_NODES) sc.directory.upsert(n);
  await sc.models.loadAndActivate(await resolveBundleDir('models'));
  for (const [i, sku] of SKUS.entries()) {
    const d = await sc.engine.check({
      requestId: `r-${i}`,
      region: 'eu-west',
      buyerZone: 'Z1-1',
      channel: 'checkout',
      items: [{ sku, qty: 1 }],
    });
    t.notOk(d.degradations.includes('model'), `the model scored ${sku}`);
  }
  await sc.featureAudit!.flush();
  const records = audit.lines.map((l) => parseFeatureAudit(JSON.parse(l)));
  const index = new AuditEventIndex(auditKeys(records));
  for (const e of events) index.add(e);
  return { records, report: auditSkew(records, index, sc.directory, { featureSchema: featureSchemaHash() }) };
}

t.test('a clean serving path: every served vector recomputes from the event log', async (t) => {
  const events = history(7);
  const { records, report } = await serve(false, events);
  t.ok(records.length >= SKUS.length * 2, `${records.length} served vectors audited`);
  t.equal(records[0]!.features.length, FEATURE_NAMES.length);
  t.equal(report.compared, records.length, 'every record compared');
  t.same(report.alarms, [], 'no systematic mismatch');
  t.equal(
    report.features.reduce((n, f) => n + f.mismatches, 0),
    0,
    'no mismatch at all',
  );
});

t.test('a serving-only unit bug is caught on the feature it corrupts, and only there', async (t) => {
  const { report } = await serve(true, history(7));
  t.same(report.alarms, ['stock_age_s'], `alarms: ${report.alarms.join(', ')}`);
  const f = report.features.find((x) => x.feature === 'stock_age_s')!;
  t.ok(f.share > 0.9, `stock_age_s disagrees on ${(f.share * 100).toFixed(0)}% of vectors`);
  t.ok(f.examples.length > 0 && f.examples[0]!.served !== f.examples[0]!.recomputed);
});

t.test('records the log cannot explain are skipped and counted, not compared', async (t) => {
  const events = history(8);
  const { records } = await serve(false, events);
  const index = new AuditEventIndex(auditKeys(records));
  // The log lost the first half of every stream: the served watermarks are past what it holds.
  for (const e of events) if (e.kind === 'heartbeat' || e.sequence > 3) index.add(e);
  const { directory } = createSidecar({ region: 'eu-west', defaultMetrics: false });
  for (const n of TINY_NODES) directory.upsert(n);
  const report = auditSkew(records, index, directory, { featureSchema: featureSchemaHash() });
  t.equal(report.compared, 0);
  t.equal(report.skipped['events-missing'], records.length);
  t.same(report.alarms, []);
  const other = auditSkew(records, index, directory, { featureSchema: 'another-schema' });
  t.equal(other.skipped['schema-differs'], records.length);
});
