import t from 'tap';
import { FRESHNESS_SLO_MS, HEARTBEAT_STALE_MS } from '../../../../features/src/freshness.js';
import { nodeHealth } from '../../../../features/src/node-health.js';
import { hardRuleViolation, inBlackout } from '../../../../sidecar/src/decision/policies/hard-rules.js';
import { DEFAULT_THRESHOLDS, threshold } from '../../../../sidecar/src/decision/policies/thresholds.js';
import { ladderRungs, unitsFromLadder } from '../../../../sidecar/src/decision/policies/units-ladder.js';
import { TINY_NODES } from '../../../helpers/tiny-world.js';

const SELLER = TINY_NODES.find((n) => n.nodeType === 'seller')!;
const NOON = Date.UTC(2026, 0, 5, 12);
const base = {
  node: SELLER,
  constraint: undefined,
  onHand: 10,
  sellable: 10,
  qty: 1,
  region: 'eu-west',
  nowMs: NOON,
  ordersToday: 0,
};

t.test('hard rules: region, blackout, handling time, daily cap, reserved and missing stock', async (t) => {
  t.equal(hardRuleViolation(base), null);
  t.equal(
    hardRuleViolation({ ...base, constraint: { nodeId: 'SL-1', regions: ['us-east'] } }),
    'REGION_RESTRICTED',
  );
  t.equal(
    hardRuleViolation({ ...base, constraint: { nodeId: 'SL-1', blackoutHoursUtc: [11, 13] } }),
    'SELLER_BLACKOUT',
  );
  t.equal(
    hardRuleViolation({ ...base, node: { ...SELLER, blackoutHoursUtc: [12, 13] } }),
    'SELLER_BLACKOUT',
    'directory window',
  );
  t.equal(
    hardRuleViolation({ ...base, constraint: { nodeId: 'SL-1', handlingHours: 96 } }),
    'SELLER_HANDLING_TIME',
  );
  t.equal(
    hardRuleViolation({ ...base, constraint: { nodeId: 'SL-1', dailyOrderCap: 5 }, ordersToday: 5 }),
    'SELLER_DAILY_CAP',
  );
  t.equal(
    hardRuleViolation({ ...base, constraint: { nodeId: 'SL-1', dailyOrderCap: 5 }, ordersToday: 4 }),
    null,
  );
  t.equal(
    hardRuleViolation({ ...base, sellable: 0, onHand: 3 }),
    'RESERVED_STOCK',
    'on the shelf but reserved',
  );
  t.equal(hardRuleViolation({ ...base, sellable: 0, onHand: 0 }), 'INSUFFICIENT_ATP');
});

t.test('blackout windows are [start, end) UTC and may wrap midnight', async (t) => {
  const at = (h: number) => Date.UTC(2026, 0, 5, h, 30);
  t.ok(inBlackout([22, 6], at(23)));
  t.ok(inBlackout([22, 6], at(3)));
  t.notOk(inBlackout([22, 6], at(6)));
  t.notOk(inBlackout([8, 8], at(8)), 'an empty window');
  t.notOk(inBlackout([8, 9], at(9)));
});

t.test('node health: fresh, stale by silence or lag, unknown beyond the hard limits', async (t) => {
  const now = NOON;
  t.same(nodeHealth('warehouse', now - 1000, 0, now), { health: 'fresh', cause: null });
  t.same(nodeHealth('warehouse', now - HEARTBEAT_STALE_MS.warehouse - 1, 0, now), {
    health: 'stale',
    cause: 'heartbeat',
  });
  t.same(nodeHealth('warehouse', now - 1000, FRESHNESS_SLO_MS.warehouse + 1, now), {
    health: 'stale',
    cause: 'lag',
  });
  t.same(
    nodeHealth('seller', now - 1000, FRESHNESS_SLO_MS.warehouse + 1, now).health,
    'fresh',
    'sellers have a 60 s SLO',
  );
  t.same(nodeHealth('warehouse', now - 1000, 6 * FRESHNESS_SLO_MS.warehouse + 1, now), {
    health: 'unknown',
    cause: 'lag',
  });
  t.same(nodeHealth('store', 0, 0, now), { health: 'unknown', cause: 'heartbeat' }, 'never heard from');
});

t.test('thresholds: hot stricter than cold, margins add, capped below 1', async (t) => {
  const d = DEFAULT_THRESHOLDS;
  t.equal(threshold(d, 'checkout', false, 0), d.checkout.cold);
  t.equal(threshold(d, 'checkout', true, 0), d.checkout.hot);
  t.ok(Math.abs(threshold(d, 'browse', false, 2) - (d.browse.cold + 2 * d.staleMargin)) < 1e-12);
  t.ok(threshold({ ...d, staleMargin: 1 }, 'checkout', true, 2) < 1);
});

t.test('the units ladder is geometric up to ATP and stops at the first failing rung', async (t) => {
  t.same(ladderRungs(0), []);
  t.same(ladderRungs(1), [1]);
  t.same(ladderRungs(100), [1, 3, 10, 32, 100]);
  t.same(ladderRungs(3), [1, 2, 3]);
  const rungs = [1, 3, 10, 32, 100];
  t.equal(
    unitsFromLadder(rungs, (i) => [0.99, 0.97, 0.93, 0.6, 0.2][i]!),
    10,
  );
  t.equal(
    unitsFromLadder(rungs, (i) => [0.99, 0.5, 0.95, 0.95, 0.95][i]!),
    1,
    'a dip stops the climb',
  );
  t.equal(
    unitsFromLadder(rungs, () => 0.1),
    0,
  );
});
