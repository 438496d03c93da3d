import t from 'tap';
import { FeatureState } from '../../features/src/feature-state.js';
import { GAP_TIMEOUT_MS, VELOCITY_TAU_MS } from '../../features/src/freshness.js';
import { N, R } from '../../features/src/record-layout.js';
import { ev, T0 } from '../helpers/events.js';

t.test('each event kind moves on hand and reserved as the contract says', async (t) => {
  const s = new FeatureState();
  s.apply(ev('receipt', 10, 1));
  s.apply(ev('reservation', 3, 2));
  s.apply(ev('sale', 2, 3));
  s.apply(ev('release', 2, 4));
  s.apply(ev('cancellation', 1, 5));
  s.apply(ev('return', 1, 6));
  s.apply(ev('adjustment', -2, 7));
  const rec = s.get('SKU-1', 'WH-1')!;
  t.equal(rec[R.onHand], 10 - 2 + 1 - 2, 'on hand');
  t.equal(rec[R.reserved], 0, 'reserved');
  t.equal(rec[R.nextSeq], 8, 'next sequence');
  t.equal(rec[R.applied], 7, 'applied count');
  t.equal(rec[R.receivedUnits], 10, 'received units');
  t.ok(rec[R.cancelShare]! > 0, 'a cancellation raises the cancel share');
});

t.test('a cycle count sets on hand and records the unrecorded loss it found', async (t) => {
  const s = new FeatureState();
  s.apply(ev('receipt', 20, 1));
  s.apply(ev('cycle-count', 17, 2, { atMs: T0 + 5000 }));
  const rec = s.get('SKU-1', 'WH-1')!;
  t.equal(rec[R.onHand], 17);
  t.equal(rec[R.lastCountDelta], -3);
  t.equal(rec[R.countedLossUnits], 3);
  t.equal(rec[R.lastCountMs], T0 + 5000);
  t.equal(rec[R.countsMatched], 0, 'a 3-unit miss is not a matching count');
  s.apply(ev('cycle-count', 18, 3));
  t.equal(rec[R.countsMatched], 1, 'a 1-unit difference counts as matching');
  t.equal(rec[R.countedLossUnits], 3, 'a gain does not reduce counted losses');
});

t.test('sales velocity decays with event time', async (t) => {
  const s = new FeatureState();
  s.apply(ev('receipt', 100, 1, { atMs: T0 }));
  s.apply(ev('sale', 6, 2, { atMs: T0 }));
  s.apply(ev('sale', 6, 3, { atMs: T0 + VELOCITY_TAU_MS }));
  const rec = s.get('SKU-1', 'WH-1')!;
  t.ok(
    Math.abs(rec[R.velocityPerH]! - (6 * Math.exp(-1) + 6)) < 1e-9,
    'one tau later the old sales weigh 1/e',
  );
});

t.test('a duplicate event is ignored', async (t) => {
  const s = new FeatureState();
  const e = ev('receipt', 5, 1);
  t.equal(s.apply(e), 'applied');
  t.equal(s.apply(e), 'duplicate');
  t.equal(
    s.apply({ ...e, eventId: 'other-id' }),
    'duplicate',
    'the sequence, not the id, identifies the effect',
  );
  t.equal(s.get('SKU-1', 'WH-1')![R.onHand], 5);
});

t.test('an early event waits for the gap and is then applied in order', async (t) => {
  const s = new FeatureState();
  s.apply(ev('receipt', 10, 1));
  t.equal(s.apply(ev('cycle-count', 4, 3)), 'buffered');
  t.equal(s.get('SKU-1', 'WH-1')![R.onHand], 10, 'nothing applied yet');
  t.equal(s.pendingCount('SKU-1', 'WH-1'), 1);
  t.equal(s.apply(ev('sale', 1, 2)), 'applied');
  const rec = s.get('SKU-1', 'WH-1')!;
  t.equal(rec[R.onHand], 4, 'count applied after the sale, as sequenced');
  t.equal(rec[R.lastCountDelta], 4 - 9, 'delta measured against the in-order state');
  t.equal(s.pendingCount('SKU-1', 'WH-1'), 0);
});

t.test('a gap that stays open beyond the timeout is skipped and counted', async (t) => {
  const s = new FeatureState();
  s.apply(ev('receipt', 10, 1, { atMs: T0 }));
  s.apply(ev('sale', 1, 3, { atMs: T0 + 1000 }));
  t.equal(
    s.apply(ev('sale', 1, 4, { atMs: T0 + 1000 + GAP_TIMEOUT_MS + 1 })),
    'applied',
    'the late-enough event forces the skip',
  );
  const rec = s.get('SKU-1', 'WH-1')!;
  t.equal(rec[R.onHand], 8);
  t.equal(rec[R.gapsSkipped], 1);
  t.equal(
    s.apply(ev('sale', 1, 2)),
    'duplicate',
    'the lost event, arriving after the skip, is not applied twice',
  );
});

t.test('flushGaps skips a quiet key whose gap outlived the watermark', async (t) => {
  const s = new FeatureState();
  s.apply(ev('receipt', 10, 1, { atMs: T0 }));
  s.apply(ev('sale', 2, 3, { atMs: T0 + 1000 }));
  t.equal(s.flushGaps(T0 + 1000 + GAP_TIMEOUT_MS / 2), 0, 'not yet');
  t.equal(s.flushGaps(T0 + 1000 + GAP_TIMEOUT_MS + 1), 1);
  t.equal(s.get('SKU-1', 'WH-1')![R.onHand], 8);
});

t.test('heartbeats update node liveness by the largest event time, whatever the order', async (t) => {
  const s = new FeatureState();
  t.equal(s.apply(ev('heartbeat', 0, 2, { node: 'ST-1', atMs: T0 + 30_000 })), 'heartbeat');
  s.apply(ev('heartbeat', 0, 1, { node: 'ST-1', atMs: T0 }));
  t.equal(s.getNode('ST-1')![N.lastHeartbeatMs], T0 + 30_000);
});

t.test('any permutation and duplication of a stream gives the same digest', async (t) => {
  const events = [
    ev('receipt', 30, 1, { sku: 'A' }),
    ev('reservation', 2, 2, { sku: 'A' }),
    ev('sale', 2, 3, { sku: 'A' }),
    ev('release', 2, 4, { sku: 'A' }),
    ev('cycle-count', 25, 5, { sku: 'A' }),
    ev('receipt', 5, 1, { sku: 'B', node: 'ST-2' }),
    ev('sale', 1, 2, { sku: 'B', node: 'ST-2' }),
    ev('heartbeat', 0, 1, { node: 'ST-2' }),
  ];
  const reference = new FeatureState();
  for (const e of events) reference.apply(e);
  // A seeded LCG shuffle, repeated: every order must land on the same state.
  let seed = 7;
  for (let round = 0; round < 50; round++) {
    const order = [...events, ...events];
    for (let i = order.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const j = seed % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const s = new FeatureState();
    for (const e of order) s.apply(e);
    if (s.digest() !== reference.digest()) {
      t.fail(`round ${round} diverged`);
      return;
    }
  }
  t.pass('50 shuffled, duplicated deliveries all match');
});
