/**
 * The sidecar's drift monitor over the committed bundle's baselines: rows
 * drawn like the training rows raise nothing; one feature collapsing raises
 * an alarm in the next window, visible in the state, /metrics and the
 * report; two clean windows end it.
 */
import { driftRecordKey } from '@mercato/features/drift/record-key';
import { FEATURE_COUNT, FEATURE_NAMES } from '@mercato/features/feature-vector';
import type { DriftHistogram } from '@mercato/proto/v1/model-manifest';
import { Registry } from 'prom-client';
import t from 'tap';
import { registerDriftMetrics } from '../../../sidecar/src/drift/drift-metrics.js';
import { DriftMonitor } from '../../../sidecar/src/drift/drift-monitor.js';
import { readBundleManifest, resolveBundleDir } from '../../../sidecar/src/model/model-bundle.js';
import { Prng } from '../../../training/src/simulator/prng.js';

const WINDOW = 2000;

/** A value inside bin b of h (bins hold edges[b] < v <= edges[b + 1]). */
function valueIn(h: DriftHistogram, b: number): number {
  return b === h.shares.length - 1 ? h.edges[b]! + 1 : h.edges[b + 1]!;
}

function drawRow(rng: Prng, baseline: Record<string, DriftHistogram>, out: Float32Array): void {
  FEATURE_NAMES.forEach((name, col) => {
    const h = baseline[name];
    if (h === undefined) return;
    let u = rng.float();
    let b = 0;
    while (b < h.shares.length - 1 && u >= h.shares[b]!) u -= h.shares[b++]!;
    out[col] = valueIn(h, b);
  });
}

t.test('drift raised by a collapsed feature, cleared by clean windows, exported', async (t) => {
  const { manifest } = await readBundleManifest(await resolveBundleDir('models'));
  const baseline = manifest.driftBaseline;
  t.ok(Object.keys(baseline).length >= 10, 'the committed bundle ships baselines');
  const monitor = new DriftMonitor(FEATURE_NAMES, { windowRows: WINDOW });
  const registry = new Registry();
  registerDriftMetrics(registry, monitor);
  const rng = new Prng(3);
  const row = new Float32Array(FEATURE_COUNT);
  const onHand = FEATURE_NAMES.indexOf('on_hand');
  let now = 1_000;
  let key = 0; // every row its own record
  const serve = (windows: number, collapse: boolean) => {
    for (let i = 0; i < windows * WINDOW; i++) {
      drawRow(rng, baseline, row);
      if (collapse) row[onHand] = 0; // a group of stores reports zero on hand
      now += 10;
      monitor.observe(manifest.version, baseline, row, 0, rng.float(), key++, now);
    }
  };

  serve(5, false);
  t.equal(monitor.state(manifest.version).windows, 5);
  t.notOk(monitor.drifting(manifest.version), 'training-like traffic raises no alarm');
  t.same(monitor.latest()[0]!.alarms, [], 'no feature alarms on a clean window');

  serve(1, true);
  const raised = monitor.state(manifest.version);
  t.ok(raised.active, 'the next window alarms');
  t.ok(raised.alarming.includes('on_hand'), `alarming: ${raised.alarming.join(',')}`);
  const onHandDrift = monitor.latest()[0]!.features.find((f) => f.name === 'on_hand')!;
  t.ok(onHandDrift.psi > onHandDrift.threshold, `on_hand PSI ${onHandDrift.psi} > ${onHandDrift.threshold}`);
  const text = await registry.metrics();
  t.match(text, new RegExp(`atp_drift_active\\{model_version="${manifest.version}"\\} 1`));
  t.match(text, /atp_drift_alarm\{model_version="[^"]+",feature="on_hand"\} 1/);
  t.match(text, /atp_drift_windows_total 6/);

  serve(1, false);
  t.ok(monitor.drifting(manifest.version), 'one clean window does not end the alarm');
  serve(1, false);
  t.notOk(monitor.drifting(manifest.version), 'two clean windows end it');
});

t.test('a window closes on time once it holds the minimum rows; a quiet one keeps filling', async (t) => {
  const baseline: Record<string, DriftHistogram> = {
    qty: { edges: [-1e38, 1, 2, 1e38], shares: [0.8, 0.1, 0.1] },
  };
  const monitor = new DriftMonitor(FEATURE_NAMES, { windowRows: 10_000, windowMs: 1000, minRows: 50 });
  const row = new Float32Array(FEATURE_COUNT).fill(1);
  for (let i = 0; i < 10; i++) monitor.observe('v1', baseline, row, 0, 0.5, i, 5_000 + i);
  monitor.observe('v1', baseline, row, 0, 0.5, 10, 9_000);
  t.equal(monitor.state('v1').windows, 0, '11 rows after the window time: not judged yet');
  for (let i = 0; i < 40; i++) monitor.observe('v1', baseline, row, 0, 0.5, 11 + i, 9_100);
  t.equal(monitor.state('v1').windows, 1, 'closes once the minimum is reached');
  t.equal(monitor.report().versions[0]!.windows[0]!.score, null, "the first window is the score's reference");
});

t.test('a window of one hammered SKU is judged on its few records, not its rows', async (t) => {
  const { manifest } = await readBundleManifest(await resolveBundleDir('models'));
  const baseline = manifest.driftBaseline;
  const monitor = new DriftMonitor(FEATURE_NAMES, { windowRows: WINDOW });
  const rng = new Prng(5);
  const rows = [0, 1, 2].map(() => {
    const r = new Float32Array(FEATURE_COUNT);
    drawRow(rng, baseline, r);
    return r;
  });
  const keys = ['n-1', 'n-2', 'n-3'].map((n) => driftRecordKey('sku-00001', n));
  // The same three candidate records read again and again (a warm-up, a client retrying one basket).
  for (let i = 0; i < WINDOW; i++)
    monitor.observe(manifest.version, baseline, rows[i % 3]!, 0, 0.9, keys[i % 3]!, i);
  const w = monitor.latest()[0]!;
  t.equal(w.rows, WINDOW);
  t.equal(w.records, 3, 'three distinct records');
  t.same(w.alarms, [], 'point masses of three records are no evidence of drift');
  t.notOk(monitor.drifting(manifest.version));

  // The same skew over thousands of distinct records is drift.
  const collapsed = new Float32Array(rows[0]!);
  for (let i = 0; i < WINDOW; i++)
    monitor.observe(manifest.version, baseline, collapsed, 0, 0.9, 10_000 + i, WINDOW + i);
  const w2 = monitor.latest()[0]!;
  t.equal(w2.records, WINDOW);
  t.ok(w2.alarms.length > 0, `alarms over ${WINDOW} records: ${w2.alarms.join(',')}`);
});

t.test('record keys: distinct names, distinct keys; the separator keeps sku and node apart', async (t) => {
  t.not(driftRecordKey('sku-1', 'n-2'), driftRecordKey('sku-1', 'n-3'));
  t.not(driftRecordKey('ab', 'c'), driftRecordKey('a', 'bc'));
  t.equal(driftRecordKey('sku-1', 'n-2'), driftRecordKey('sku-1', 'n-2'));
});
