import t from 'tap';
import {
  clockFrom,
  formatWorldClock,
  parseWorldClock,
  systemClock,
  worldClock,
} from '../../platform/src/clock.js';

t.test('the system clock is the wall clock', async (t) => {
  const before = Date.now();
  const now = systemClock.now();
  t.ok(now >= before && now <= Date.now());
  t.equal(systemClock.wallMs(1_000), 1_000);
});

t.test('a world clock runs speed times faster from its pinned instants, and shrinks periods', async (t) => {
  const wallEpochMs = Date.now();
  const c = worldClock({ simEpochMs: Date.UTC(2026, 0, 5), wallEpochMs, speed: 60 });
  const a = c.now();
  await new Promise((r) => setTimeout(r, 200));
  const elapsed = c.now() - a;
  t.ok(elapsed >= 60 * 180 && elapsed <= 60 * 400, `200 ms of wall is about 12 s of world (${elapsed})`);
  t.equal(c.wallMs(60_000), 1_000);
  t.ok(Math.abs(c.now() - (Date.UTC(2026, 0, 5) + (Date.now() - wallEpochMs) * 60)) < 60 * 5);
});

t.test('specs round-trip through their text form and bad ones say why', async (t) => {
  const spec = { simEpochMs: 1767571200000, wallEpochMs: 1796000000000, speed: 120 };
  t.same(parseWorldClock(formatWorldClock(spec)), spec);
  t.throws(() => parseWorldClock('now'), /expected <simEpochMs>@<wallEpochMs>x<speed>/);
  t.throws(() => parseWorldClock('1767571200000@1796000000000x5000'), /speed must be between/);
  t.equal(clockFrom(undefined), systemClock);
  t.equal(clockFrom(formatWorldClock(spec)).speed, 120);
});
