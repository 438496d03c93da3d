import t from 'tap';
import { EventQueue, type Scheduled } from '../../../training/src/simulator/event-queue.js';
import { Prng } from '../../../training/src/simulator/prng.js';

interface It extends Scheduled {
  id: number;
}

t.test('items come out by time, then rank, then push order', async (t) => {
  const q = new EventQueue<It>();
  const push = (atMs: number, rank: number, id: number) => q.push({ atMs, rank, order: 0, id });
  push(5, 1, 0);
  push(5, 0, 1);
  push(3, 1, 2);
  push(5, 1, 3);
  push(5, 0, 4);
  const ids: number[] = [];
  for (let it = q.pop(); it !== undefined; it = q.pop()) ids.push(it.id);
  t.same(ids, [2, 1, 4, 0, 3]);
});

t.test('a random workload pops in sorted order and retain keeps the survivors ordered', async (t) => {
  const q = new EventQueue<It>();
  const r = new Prng(5);
  for (let i = 0; i < 5000; i++) q.push({ atMs: r.int(0, 500), rank: r.int(0, 1), order: 0, id: i });
  q.retain((it) => it.id % 3 !== 0);
  let prev: It | undefined;
  let bad = 0;
  let n = 0;
  for (let it = q.pop(); it !== undefined; it = q.pop()) {
    n++;
    if (it.id % 3 === 0) bad++;
    if (prev !== undefined) {
      const ok =
        prev.atMs < it.atMs ||
        (prev.atMs === it.atMs && (prev.rank < it.rank || (prev.rank === it.rank && prev.order < it.order)));
      if (!ok) bad++;
    }
    prev = it;
  }
  t.equal(bad, 0);
  t.equal(n, 5000 - Math.ceil(5000 / 3));
});
