/**
 * Each promised option says why it was promised: ATP_OK, then the
 * conditions it was promised under (stale feed, hot SKU, extra buffer).
 */
import t from 'tap';
import type { CheckRequest } from '../../../../proto/v1/decision.js';
import type { PlannedCandidate } from '../../../../sidecar/src/decision/item-states.js';
import { optionReasons } from '../../../../sidecar/src/decision/policies/option-reasons.js';
import { tinySidecar } from '../../../helpers/tiny-world.js';

/** The facts optionReasons reads; the rest of a planned candidate does not matter here. */
function cand(health: 'fresh' | 'stale' | 'unknown', atp: number, sellable: number): PlannedCandidate {
  return { health, atp, sellable } as unknown as PlannedCandidate;
}

t.test('a fresh node, a cold SKU and no buffer: ATP_OK alone', async (t) => {
  t.same(optionReasons(cand('fresh', 10, 10), false, false), ['ATP_OK']);
});

t.test('each condition adds its code, in a fixed order', async (t) => {
  t.same(optionReasons(cand('stale', 10, 10), false, false), ['ATP_OK', 'NODE_STALE']);
  t.same(optionReasons(cand('unknown', 10, 10), false, false), ['ATP_OK', 'NODE_STALE']);
  t.same(optionReasons(cand('fresh', 10, 10), true, false), ['ATP_OK', 'HOT_SKU_STRICT']);
  t.same(optionReasons(cand('fresh', 10, 7), false, false), ['ATP_OK', 'SAFETY_BUFFER'], 'a lag buffer');
  t.same(optionReasons(cand('fresh', 10, 10), false, true), ['ATP_OK', 'SAFETY_BUFFER'], 'a stale copy');
  t.same(optionReasons(cand('stale', 10, 7), true, true), [
    'ATP_OK',
    'NODE_STALE',
    'HOT_SKU_STRICT',
    'SAFETY_BUFFER',
  ]);
});

t.test('through the engine: a cold SKU says ATP_OK, a hot one says HOT_SKU_STRICT', async (t) => {
  const sc = tinySidecar();
  const req = (id: string, channel: 'checkout' | 'browse'): CheckRequest => ({
    requestId: id,
    region: 'eu-west',
    buyerZone: 'Z1-1',
    channel,
    items: [{ sku: 'IN-STOCK', qty: 1 }],
  });
  const cold = await sc.engine.check(req('c-0', 'browse'));
  t.ok(cold.items[0]!.options.length > 0);
  for (const o of cold.items[0]!.options)
    t.same(o.reasons, ['ATP_OK'], `${o.nodeId}: nothing to work around`);
  // Checkouts count toward the hot-SKU sketch: 40 in the same minute make the SKU hot (30/min).
  for (let i = 0; i < 40; i++) await sc.engine.check(req(`c-${i + 1}`, 'checkout'));
  const hot = await sc.engine.check(req('h-1', 'browse'));
  t.ok(hot.items[0]!.options.length > 0);
  for (const o of hot.items[0]!.options) t.same(o.reasons, ['ATP_OK', 'HOT_SKU_STRICT'], o.nodeId);
});
