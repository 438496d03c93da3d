import t from 'tap';
import { type ControlSnapshot, defaultControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import { ControlState, rolloutBucket } from '../../../sidecar/src/control/control-state.js';

function snap(over: Partial<ControlSnapshot>): ControlSnapshot {
  return { ...defaultControlSnapshot('m1'), version: 7, contentHash: 'h7', ...over };
}

t.test('the embedded default enforces /checkout and kills nothing', async (t) => {
  const c = new ControlState('eu-west');
  t.equal(c.modeFor('/checkout/pay', 'r-1', 'shadow'), 'enforce');
  t.equal(c.modeFor('/browse', 'r-1', 'shadow'), 'shadow', 'no route: the fallback');
  t.equal(c.killedFor('/checkout'), null);
  t.equal(c.filterSnapshot('rules-only').model_version, 'rules-only');
});

t.test('kill switches apply by scope: global, this region, route prefix, sku', async (t) => {
  const c = new ControlState('eu-west');
  c.setSnapshot(snap({ killSwitches: [{ scope: 'region', target: 'us-east', reason: 'elsewhere' }] }));
  t.equal(c.killedFor('/checkout'), null, 'another region');
  c.setSnapshot(snap({ killSwitches: [{ scope: 'region', target: 'eu-west', reason: 'incident 42' }] }));
  t.same(c.killedFor('/checkout'), { killed: true, reason: 'incident 42' });
  c.setSnapshot(
    snap({
      killSwitches: [
        { scope: 'route', target: '/checkout/gift', reason: 'r' },
        { scope: 'sku', target: 'SKU-9', reason: 's' },
      ],
    }),
  );
  t.ok(c.killedFor('/checkout/gift/card'));
  t.equal(c.killedFor('/checkout/pay'), null);
  t.equal(c.skuKilled('SKU-9'), 's');
  t.equal(c.skuKilled('SKU-1'), undefined);
});

t.test('holds apply in their region or everywhere; sellers are looked up by node', async (t) => {
  const c = new ControlState('eu-west');
  c.setSnapshot(
    snap({
      holds: [
        { sku: 'A', reason: 'recall' },
        { sku: 'B', region: 'us-east', reason: 'us only' },
        { sku: 'C', region: 'eu-west', reason: 'eu only' },
      ],
      sellers: [{ nodeId: 'SL-1', dailyOrderCap: 3 }],
    }),
  );
  t.equal(c.holdOn('A'), 'recall');
  t.equal(c.holdOn('B'), undefined);
  t.equal(c.holdOn('C'), 'eu only');
  t.same(c.filterSnapshot('m1').held_skus, ['A', 'C']);
  t.equal(c.seller('SL-1')?.dailyOrderCap, 3);
});

t.test('the longest matching route wins and rollout splits requests stably by id', async (t) => {
  const c = new ControlState('eu-west');
  c.setSnapshot(
    snap({
      routes: [
        { prefix: '/checkout', mode: 'enforce', rolloutPct: 100 },
        { prefix: '/checkout/beta', mode: 'shadow', rolloutPct: 30 },
      ],
    }),
  );
  t.equal(c.modeFor('/checkout/pay', 'x', 'off'), 'enforce');
  const ids = Array.from({ length: 2000 }, (_, i) => `req-${i}`);
  const shadow = ids.filter((id) => c.modeFor('/checkout/beta', id, 'off') === 'shadow').length;
  t.ok(shadow > 450 && shadow < 750, `about 30% in rollout (${shadow}/2000)`);
  for (const id of ids.slice(0, 50)) {
    t.equal(c.modeFor('/checkout/beta', id, 'off'), rolloutBucket(id) < 30 ? 'shadow' : 'off');
  }
});

t.test('listeners hear every new snapshot and the filter snapshot follows it', async (t) => {
  const c = new ControlState('eu-west');
  const seen: number[] = [];
  c.onSnapshot((s) => seen.push(s.version));
  c.setSnapshot(snap({ version: 8, contentHash: 'h8' }));
  c.setSnapshot(snap({ version: 9, contentHash: 'h9', rulesVersion: 'rules-v9' }));
  t.same(seen, [8, 9]);
  t.equal(c.filterSnapshot('m1').version, 9);
  t.equal(c.filterSnapshot('m1').rules_version, 'rules-v9');
});
