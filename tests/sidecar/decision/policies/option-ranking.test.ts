import t from 'tap';
import type { ItemDecision } from '../../../../proto/v1/decision.js';
import {
  byOptionRank,
  ETA_HALF_UTILITY_H,
  optionUtility,
  promoteOption,
} from '../../../../sidecar/src/decision/policies/option-ranking.js';

const option = (nodeId: string, score: number, pFulfill = 0.95) => ({
  nodeId,
  nodeType: 'store' as const,
  etaHours: 2,
  cost: 3,
  score,
  pFulfill,
  reasons: ['ATP_OK' as const],
});

t.test('utility: a day of ETA halves it and cost takes a little off', async (t) => {
  t.equal(optionUtility(0, 0), 1);
  t.equal(optionUtility(ETA_HALF_UTILITY_H, 0), 0.5);
  t.ok(optionUtility(2, 5) < optionUtility(2, 1));
});

t.test('options rank by score, ties by node id', async (t) => {
  const sorted = [option('B', 0.5), option('C', 0.9), option('A', 0.5)].sort(byOptionRank);
  t.same(
    sorted.map((o) => o.nodeId),
    ['C', 'A', 'B'],
  );
});

t.test('the held option moves first and the item reports its p and risk', async (t) => {
  const item: ItemDecision = {
    sku: 'S',
    qty: 1,
    available: true,
    pFulfill: 0.97,
    unitsP10: 10,
    oversellRisk: 0.03,
    reasons: ['ATP_OK'],
    options: [option('A', 0.9, 0.97), option('B', 0.8, 0.92), option('C', 0.7, 0.91)],
  };
  const held = item.options[1]!;
  const d = promoteOption(item, 1, held);
  t.same(
    d.options.map((o) => o.nodeId),
    ['B', 'A', 'C'],
  );
  t.equal(d.pFulfill, 0.92);
  t.equal(d.oversellRisk, 0.08);
});
