import t from 'tap';
import {
  controlSnapshotToJson,
  defaultControlSnapshot,
  parseControlSnapshot,
  toFilterSnapshot,
} from '../../../proto/v1/control-snapshot.js';
import type { ContractError } from '../../../proto/v1/validate.js';

const snapshot = {
  schema: 'atp.control-snapshot.v1',
  version: 7,
  content_hash: 'abc',
  rules_version: 'rules-7',
  kill_switches: [
    { scope: 'region', target: 'us-east', reason: 'incident 12' },
    { scope: 'sku', target: 'SKU-9', reason: 'bad feed' },
  ],
  routes: [{ prefix: '/checkout', mode: 'shadow', rollout_pct: 25 }],
  holds: [
    { sku: 'SKU-1', reason: 'recall' },
    { sku: 'SKU-2', region: 'us-east', reason: 'state law' },
  ],
  sellers: [{ node_id: 'SL-1', daily_order_cap: 40, blackout_hours_utc: [22, 24] }],
  model: {
    active: 'gbdt-2',
    previous: 'gbdt-1',
    staged: { version: 'gbdt-3', rollout_pct_by_region: { 'eu-west': 10 } },
  },
};

t.test('a control snapshot round-trips through its JSON form', async (t) => {
  t.same(controlSnapshotToJson(parseControlSnapshot(snapshot)), snapshot);
  const d = defaultControlSnapshot('rules-only');
  t.same(parseControlSnapshot(controlSnapshotToJson(d)), d);
});

t.test('the filter snapshot resolves scopes for the sidecar region', async (t) => {
  const s = parseControlSnapshot(snapshot);
  const eu = toFilterSnapshot(s, 'eu-west', 'gbdt-2');
  t.equal(eu.killed, false, 'another region is killed, not this one');
  t.same(eu.held_skus, ['SKU-1'], 'a hold for another region does not apply');
  t.same(eu.killed_skus, ['SKU-9']);
  const us = toFilterSnapshot(s, 'us-east', 'gbdt-2');
  t.equal(us.killed, true);
  t.same(us.held_skus, ['SKU-1', 'SKU-2']);
  t.same(us.routes, [{ prefix: '/checkout', mode: 'shadow', rollout_pct: 25 }]);
});

t.test('bad snapshots are refused naming the field', async (t) => {
  const cases: [unknown, string][] = [
    [{ ...snapshot, routes: [{ prefix: 'checkout', mode: 'enforce', rollout_pct: 1 }] }, 'routes[0].prefix'],
    [{ ...snapshot, routes: [{ prefix: '/c', mode: 'enforce', rollout_pct: 101 }] }, 'routes[0].rollout_pct'],
    [
      { ...snapshot, kill_switches: [{ scope: 'planet', target: 'x', reason: 'r' }] },
      'kill_switches[0].scope',
    ],
    [
      { ...snapshot, sellers: [{ node_id: 'SL-1', blackout_hours_utc: [22, 25] }] },
      'sellers[0].blackout_hours_utc',
    ],
    [{ ...snapshot, model: {} }, 'model.active'],
  ];
  for (const [raw, field] of cases)
    t.equal((t.throws(() => parseControlSnapshot(raw)) as ContractError).field, field);
});
