import t from 'tap';
import { Prng } from '../../../training/src/simulator/prng.js';

t.test('the same seed and stream give the same numbers', async (t) => {
  const a = new Prng(42, 3);
  const b = new Prng(42, 3);
  for (let i = 0; i < 1000; i++) t.equal(a.nextU32(), b.nextU32());
});

t.test('different seeds or streams give different numbers', async (t) => {
  const first = (p: Prng) => Array.from({ length: 8 }, () => p.nextU32()).join(',');
  t.not(first(new Prng(1)), first(new Prng(2)));
  t.not(first(new Prng(1, 0)), first(new Prng(1, 1)));
});

t.test('draws stay inside their documented ranges', async (t) => {
  const r = new Prng(7);
  let bad = 0;
  let sumExp = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const f = r.float();
    const k = r.int(3, 5);
    const l = r.logUniform(50, 2000);
    if (f < 0 || f >= 1 || k < 3 || k > 5 || !Number.isInteger(k) || l < 50 || l > 2000) bad++;
    sumExp += r.exp(10);
  }
  t.equal(bad, 0);
  t.ok(Math.abs(sumExp / n - 10) < 0.5, `exponential mean ${sumExp / n} is close to 10`);
});

t.test('pickCumulative draws indices in proportion to their weights', async (t) => {
  const r = new Prng(9);
  const cum = Float64Array.of(1, 1, 4); // weights 1, 0, 3
  const hits = [0, 0, 0];
  for (let i = 0; i < 40_000; i++) hits[r.pickCumulative(cum)]!++;
  t.equal(hits[1], 0, 'a zero weight is never drawn');
  t.ok(Math.abs(hits[2]! / hits[0]! - 3) < 0.2, `ratio ${hits[2]! / hits[0]!} is close to 3`);
});
