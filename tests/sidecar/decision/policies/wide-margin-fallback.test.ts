import t from 'tap';
import { AtpError } from '../../../../platform/src/errors.js';
import type { ItemDecision } from '../../../../proto/v1/decision.js';
import {
  answerWithoutHold,
  storeFailure,
  WIDE_MARGIN_UNITS,
} from '../../../../sidecar/src/decision/policies/wide-margin-fallback.js';
import { ERR } from '../../../../sidecar/src/errors.js';

const option = (nodeId: string, pFulfill: number) => ({
  nodeId,
  nodeType: 'warehouse' as const,
  etaHours: 24,
  cost: 4,
  score: pFulfill / 2,
  pFulfill,
  reasons: ['ATP_OK' as const],
});

const item: ItemDecision = {
  sku: 'COLD',
  qty: 2,
  available: true,
  pFulfill: 0.95,
  unitsP10: 40,
  oversellRisk: 0.05,
  reasons: ['ATP_OK'],
  options: [option('WH-1', 0.95), option('WH-2', 0.93)],
};

t.test(
  'a timeout (ours or the client command timeout) is told apart from a store that is down',
  async (t) => {
    t.equal(storeFailure(new AtpError(ERR.RESERVATION_UNAVAILABLE, 'no answer within 10 ms')), 'timeout');
    t.equal(storeFailure(new Error('Command timed out')), 'timeout');
    t.equal(storeFailure(new Error('Connection is closed.')), 'down');
    t.equal(storeFailure('not an error'), 'down');
  },
);

t.test(
  'a store that is down lets a cold SKU with a wide margin through, from the option tried',
  async (t) => {
    const held = option('WH-2', 0.93);
    const d = answerWithoutHold(item, held, item.qty + WIDE_MARGIN_UNITS, 'down', false);
    t.equal(d.available, true);
    t.same(d.reasons, ['ATP_OK', 'WIDE_MARGIN']);
    t.same(d.options, [{ ...held, reasons: ['ATP_OK', 'WIDE_MARGIN'] }], 'the option says it was not held');
  },
);

t.test('a narrower margin, a timeout or a hot SKU is never promised without a hold', async (t) => {
  const held = option('WH-1', 0.95);
  const wide = item.qty + WIDE_MARGIN_UNITS;
  for (const [sellable, failure, hot, why] of [
    [wide - 1, 'down', false, 'margin one unit short'],
    [wide, 'timeout', false, 'the store may be holding these units right now'],
    [wide * 10, 'down', true, 'hot SKU'],
  ] as const) {
    const d = answerWithoutHold(item, held, sellable, failure, hot);
    t.equal(d.available, false, why);
    t.same(d.reasons, ['RESERVATION_FAILED'], why);
    t.same(d.options, [], why);
    t.equal(d.oversellRisk, 0, why);
  }
});
