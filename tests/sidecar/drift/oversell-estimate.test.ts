/**
 * The label-free oversell estimate: sum(1 - p_fulfill) over calibrated
 * checkout promises, per model version; the rule scorer's numbers, browse
 * answers and denials do not count; the bundle's held-out rate is exported
 * beside it.
 */
import type { CheckResponse, ItemDecision } from '@mercato/proto/v1/decision';
import { Registry } from 'prom-client';
import t from 'tap';
import { OversellEstimate } from '../../../sidecar/src/drift/oversell-estimate.js';
import { readBundleManifest, resolveBundleDir } from '../../../sidecar/src/model/model-bundle.js';

const item = (available: boolean, pFulfill: number): ItemDecision => ({
  sku: 'sku-00001',
  qty: 1,
  available,
  pFulfill,
  unitsP10: 1,
  oversellRisk: 1 - pFulfill,
  reasons: ['ATP_OK'],
  options: [],
});

const answer = (over: Partial<CheckResponse>, items: ItemDecision[]): CheckResponse => ({
  decisionId: 'd-1',
  requestId: 'r-1',
  region: 'eu-west',
  channel: 'checkout',
  decision: 'allow',
  mode: 'enforce',
  modelVersion: 'm1',
  rulesVersion: 'r1',
  degradations: [],
  items,
  pFulfillKind: 'calibrated',
  ...over,
});

async function value(registry: Registry, name: string, version: string): Promise<number | undefined> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return m?.values.find((v) => v.labels.model_version === version)?.value;
}

t.test('counts expected oversells of calibrated checkout promises only', async (t) => {
  const registry = new Registry();
  const est = new OversellEstimate(registry);
  est.decided(answer({}, [item(true, 0.9), item(true, 0.99), item(false, 0.2)]));
  est.decided(answer({ pFulfillKind: 'rule-score' }, [item(true, 0.5)]));
  est.decided(answer({ channel: 'browse' }, [item(true, 0.5)]));
  est.decided(answer({ modelVersion: 'm2' }, [item(true, 0.8)]));
  t.equal(await value(registry, 'atp_scored_promises_total', 'm1'), 2);
  t.ok(Math.abs((await value(registry, 'atp_estimated_oversells_total', 'm1'))! - 0.11) < 1e-9);
  t.ok(Math.abs((await value(registry, 'atp_estimated_oversells_total', 'm2'))! - 0.2) < 1e-9);
});

t.test("the committed bundle's held-out oversell rate is exported beside the estimate", async (t) => {
  const { manifest } = await readBundleManifest(await resolveBundleDir('models'));
  const registry = new Registry();
  const est = new OversellEstimate(registry);
  est.setHeldOut(manifest.version, manifest.metrics);
  const rate = await value(registry, 'atp_model_heldout_oversell_rate', manifest.version);
  t.type(rate, 'number');
  t.ok(rate! > 0 && rate! < 0.05, `held-out rate ${rate}`);
  est.setHeldOut('bare', {});
  t.equal(
    await value(registry, 'atp_model_heldout_oversell_rate', 'bare'),
    undefined,
    'no figure, no series',
  );
});
