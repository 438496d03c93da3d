/**
 * Binary min-heap of scheduled items ordered by (atMs, rank, order). `order`
 * is a push counter assigned here, so items with equal time and rank come out
 * in the order they were scheduled: the tie-break is deterministic and never
 * depends on heap layout.
 */

export interface Scheduled {
  /** When the item is due (simulated ms). */
  atMs: number;
  /** Lower ranks run first among items due at the same ms. */
  rank: number;
  /** Assigned by push: the deterministic tie-break. */
  order: number;
}

function before(a: Scheduled, b: Scheduled): boolean {
  if (a.atMs !== b.atMs) return a.atMs < b.atMs;
  if (a.rank !== b.rank) return a.rank < b.rank;
  return a.order < b.order;
}

export class EventQueue<T extends Scheduled> {
  private readonly heap: T[] = [];
  private pushed = 0;

  get size(): number {
    return this.heap.length;
  }

  push(item: T): void {
    item.order = this.pushed++;
    const h = this.heap;
    let i = h.length;
    h.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!before(item, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = item;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  pop(): T | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    const n = h.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }

  /** Keeps only the items `keep` accepts (their relative order is preserved by `order`). */
  retain(keep: (item: T) => boolean): void {
    const kept = this.heap.filter(keep);
    this.heap.length = 0;
    // Re-insert without renumbering: the original `order` still breaks ties.
    for (const item of kept) {
      const h = this.heap;
      let i = h.length;
      h.push(item);
      while (i > 0) {
        const parent = (i - 1) >> 1;
        const p = h[parent]!;
        if (!before(item, p)) break;
        h[i] = p;
        i = parent;
      }
      h[i] = item;
    }
  }
}
