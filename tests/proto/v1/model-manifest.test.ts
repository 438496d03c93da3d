import t from 'tap';
import { calibrate, manifestToJson, parseModelManifest } from '../../../proto/v1/model-manifest.js';
import type { ContractError } from '../../../proto/v1/validate.js';

const good = {
  schema: 'atp.model-bundle.v1',
  version: 'gbdt-s1',
  model_file: 'model.onnx',
  model_sha256: 'a'.repeat(64),
  feature_names: ['qty', 'atp'],
  feature_schema_hash: '0123456789abcdef',
  calibration: { method: 'isotonic', x: [0, 0.5, 1], y: [0, 0.4, 1] },
  thresholds: {
    cost_ratio: 10,
    checkout: { hot: 0.95, cold: 0.9 },
    browse: { hot: 0.8, cold: 0.7 },
    stale_margin: 0.03,
    hot_sku_rate_per_min: 30,
  },
  metrics: { auc: 0.9 },
  drift_baseline: { qty: { edges: [-1e9, 1.5, 1e9], shares: [0.8, 0.2] } },
  data_window: { seed: 1 },
  training: { trees: 100 },
};

t.test('a valid manifest parses and serializes back to the same JSON', async (t) => {
  const m = parseModelManifest(good);
  t.equal(m.thresholds.checkout.hot, 0.95);
  t.same(manifestToJson(m), good);
});

t.test('a manifest with a bad field is refused naming it', async (t) => {
  const cases: [unknown, string][] = [
    [{ ...good, model_sha256: 'xyz' }, 'model_sha256'],
    [{ ...good, calibration: { method: 'isotonic', x: [0, 1], y: [0] } }, 'calibration.y'],
    [{ ...good, calibration: { method: 'isotonic', x: [1, 0], y: [0, 1] } }, 'calibration.x[1]'],
    [
      { ...good, thresholds: { ...good.thresholds, checkout: { hot: 2, cold: 0.9 } } },
      'thresholds.checkout.hot',
    ],
    [{ ...good, drift_baseline: { qty: { edges: [0, 1], shares: [0.5, 0.5] } } }, 'drift_baseline.qty.edges'],
  ];
  for (const [raw, field] of cases) {
    const err = t.throws(() => parseModelManifest(raw)) as ContractError;
    t.equal(err.field, field);
  }
});

t.test('isotonic calibration interpolates between points and clamps outside', async (t) => {
  const c = { method: 'isotonic' as const, x: [0.2, 0.6], y: [0.1, 0.5] };
  t.equal(calibrate(c, 0), 0.1);
  t.equal(calibrate(c, 1), 0.5);
  t.ok(Math.abs(calibrate(c, 0.4) - 0.3) < 1e-12);
  t.ok(Math.abs(calibrate({ method: 'platt', a: 1, b: 0 }, 0.3) - 0.3) < 1e-9, 'identity Platt');
});
