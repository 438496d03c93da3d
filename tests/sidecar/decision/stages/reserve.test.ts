/**
 * The reserve stage end to end through the engine, with reservation stores
 * that fail: a store that is down lets a cold SKU with a wide margin through
 * (WIDE_MARGIN), a slow one never does, a hot SKU never is; every such answer
 * is flagged `redis` and the hold is given back.
 */
import t from 'tap';
import type { ReservationStore } from '../../../../sidecar/src/decision/ports.js';
import { checkout, worldSidecar } from '../../../helpers/sidecar-world.js';

function failingStore(mode: 'down' | 'silent'): ReservationStore & { released: number } {
  const store = {
    released: 0,
    reserve: () =>
      mode === 'down'
        ? Promise.reject(new Error('Connection is closed.'))
        : new Promise<never>(() => undefined),
    confirm: async () => false,
    release: async () => {
      store.released++;
      return true;
    },
    ordersToday: () => 0,
  };
  return store;
}

t.test('a store that is down: a cold, well-stocked SKU is promised with WIDE_MARGIN, flagged', async (t) => {
  const store = failingStore('down');
  const sc = worldSidecar({ reservations: store });
  const d = await sc.engine.check(checkout('IN-STOCK', 1));
  t.equal(d.decision, 'allow');
  t.same(d.items[0]!.reasons, ['ATP_OK', 'WIDE_MARGIN']);
  t.equal(d.items[0]!.options.length, 1, 'promised from the option it tried to hold');
  t.same(d.degradations, ['redis']);
  t.equal(store.released, 1, 'a hold that may have landed is given back');
});

t.test('a store that does not answer in time: no promise', async (t) => {
  const sc = worldSidecar({ reservations: failingStore('silent') });
  const d = await sc.engine.check(checkout('IN-STOCK', 1));
  t.equal(d.decision, 'deny');
  t.same(d.items[0]!.reasons, ['RESERVATION_FAILED']);
  t.same(d.degradations, ['redis']);
});

t.test('a store that is down: a hot SKU is never promised without a hold', async (t) => {
  const sc = worldSidecar({ reservations: failingStore('down') });
  // Rules only: DEFAULT_THRESHOLDS.hotSkuRatePerMin (30/min) makes it hot.
  let last = await sc.engine.check(checkout('IN-STOCK', 1, 'r-0'));
  for (let i = 1; i < 40; i++) last = await sc.engine.check(checkout('IN-STOCK', 1, `r-${i}`));
  t.equal(last.decision, 'deny');
  t.same(last.items[0]!.reasons, ['RESERVATION_FAILED']);
});
