import t from 'tap';
import { GuestClock } from '../../../wasm-filter/emulator/index.js';

t.test('guest time excludes host functions but counts guest calls nested in them', async (t) => {
  // A clock the test moves by hand.
  let now = 0;
  const clock = new GuestClock(() => now);

  // A hook runs 3 ms of guest code, calls a host function that takes 10 ms, of which 2 ms are
  // a nested malloc in the guest, then runs 1 ms more.
  clock.timeGuest('proxy_on_request_body', () => {
    now += 3;
    clock.timeHost(() => {
      now += 4;
      clock.timeGuest('malloc', () => {
        now += 2;
      });
      now += 4;
    });
    now += 1;
  });

  // Guest time is 3 + 2 + 1 ms, all attributed to the hook, with its boundary counts.
  const time = clock.read();
  t.equal(time.totalMs, 6);
  t.same(time.byExport.proxy_on_request_body, { ms: 6, calls: 1, hostCalls: 1, nestedCalls: 1 });
  t.equal(time.byExport.malloc, undefined, 'the nested malloc is not an export call of its own');

  // The correction removes the clock's share per boundary, never going below zero.
  const calibration = { perCallMs: 0.5, perHostCallMs: 0.25, perNestedCallMs: 0.25 };
  t.equal(GuestClock.corrected(time.byExport.proxy_on_request_body!, calibration), 5);
  t.equal(GuestClock.corrected({ ms: 0.1, calls: 1, hostCalls: 0, nestedCalls: 0 }, calibration), 0);

  // A reset starts from zero.
  clock.reset();
  t.equal(clock.read().totalMs, 0);
});

t.test('a trap inside a timed call leaves the clock consistent', async (t) => {
  // A clock and a guest call that throws (as a trap does) from inside a host function.
  let now = 0;
  const clock = new GuestClock(() => now);
  t.throws(() =>
    clock.timeGuest('proxy_on_tick', () => {
      now += 1;
      clock.timeHost(() => {
        throw new Error('trap');
      });
    }),
  );

  // The next call is measured normally.
  clock.timeGuest('proxy_on_tick', () => {
    now += 2;
  });
  t.equal(clock.read().totalMs, 3);
});
