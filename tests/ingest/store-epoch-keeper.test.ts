/**
 * The ingester's half of the store epoch when its own steps fail or it
 * stops mid-refill: the epoch must never stay `refilling` for good (the
 * region's sidecars grant no hold meanwhile), and must never be marked
 * `ready` on offsets committed before the replay (the store would then miss
 * what the replay had to write). Fakes stand for the broker and Redis: the
 * steps' order is what is under test (the real adapters are exercised by
 * tests/faults/redis-restart-flash-sale.test.ts).
 */
import { silentLogger } from '@mercato/platform/logger';
import t from 'tap';
import type { EventSource, StoreEpochs } from '../../ingest/src/ports.js';
import { StoreEpochKeeper } from '../../ingest/src/store-epoch-keeper.js';

class FakeEpochs implements StoreEpochs {
  epoch: { id: string; state: 'refilling' | 'ready' } | null = null;
  private n = 0;
  async lost(): Promise<boolean> {
    return this.epoch === null;
  }
  async begin(): Promise<string> {
    this.epoch = { id: `e${++this.n}`, state: 'refilling' };
    return this.epoch.id;
  }
  async ready(id: string): Promise<boolean> {
    if (this.epoch?.id !== id) return false;
    this.epoch.state = 'ready';
    return true;
  }
  async refilling(): Promise<string | null> {
    return this.epoch?.state === 'refilling' ? this.epoch.id : null;
  }
}

/** One partition with END records; the group had committed all of them before the loss. */
const END = '100';
class FakeSource {
  committed = new Map<number, string>([[0, END]]);
  rewinds = 0;
  failWatermarks = 0;
  failRewinds = 0;
  /** What the group had committed when the source started (undefined: the source does not say). */
  commitsAtStart: boolean | undefined = undefined;
  hadCommitsAtStart(): boolean | undefined {
    return this.commitsAtStart;
  }
  async highWatermarks(): Promise<Map<number, string>> {
    if (this.failWatermarks-- > 0) throw new Error('broker unreachable');
    return new Map([[0, END]]);
  }
  async committedOffsets(): Promise<Map<number, string>> {
    return new Map(this.committed);
  }
  async rewindToStart(): Promise<void> {
    if (this.failRewinds-- > 0) throw new Error('rebalance in progress');
    this.rewinds++;
    this.committed.set(0, '0');
  }
}

function keeper(epochs: StoreEpochs, source: FakeSource): StoreEpochKeeper {
  return new StoreEpochKeeper({
    epochs,
    source: source as unknown as EventSource,
    log: silentLogger(),
    clock: () => 0,
  });
}

/** The store lost its epoch (a function, so the type checker does not narrow `epoch` to null after it). */
function lose(epochs: FakeEpochs): void {
  epochs.epoch = null;
}

const tick = (k: StoreEpochKeeper) => k.tick().catch(() => undefined);

t.test('a failed log-end read begins no epoch; the next tick does', async (t) => {
  const epochs = new FakeEpochs();
  const source = new FakeSource();
  source.failWatermarks = 1;
  const k = keeper(epochs, source);
  await tick(k);
  t.equal(epochs.epoch, null, 'nothing begun while the log ends are unknown');
  await tick(k);
  t.equal(epochs.epoch?.state, 'refilling');
  t.equal(k.epochsBegun, 1);
});

t.test('a failed rewind is tried again; old commits never mark the epoch ready', async (t) => {
  const epochs = new FakeEpochs();
  const source = new FakeSource();
  source.failRewinds = 2;
  const k = keeper(epochs, source);
  for (let i = 0; i < 3; i++) await tick(k);
  t.equal(source.rewinds, 1, 'rewound once the broker let it');
  t.equal(epochs.epoch?.state, 'refilling', 'not ready on the offsets committed before the loss');
  source.committed.set(0, END); // the replay caught up
  await tick(k);
  t.equal(epochs.epoch?.state, 'ready');
});

t.test('an ingester that starts on an epoch left refilling replays and finishes it', async (t) => {
  const epochs = new FakeEpochs();
  await epochs.begin(); // begun by an ingester that stopped before it finished
  const source = new FakeSource();
  const k = keeper(epochs, source);
  await tick(k);
  t.equal(k.epochsBegun, 0, 'no new epoch: the store did not lose anything again');
  t.equal(source.rewinds, 1, 'the log is replayed (what the other ingester wrote is not known)');
  t.equal(epochs.epoch?.state, 'refilling');
  source.committed.set(0, END);
  await tick(k);
  t.equal(epochs.epoch?.state, 'ready', 'and the epoch is ready once the replay caught up');

  // A healthy start on a ready epoch neither rewinds nor begins anything.
  const calm = new FakeSource();
  const k2 = keeper(epochs, calm);
  await tick(k2);
  t.equal(calm.rewinds, 0);
  t.equal(k2.epochsBegun, 0);
});

t.test('a fresh group at first start is not rewound; a loss found later is', async (t) => {
  const epochs = new FakeEpochs();
  const source = new FakeSource();
  source.commitsAtStart = false; // this process reads the log from its start
  source.committed.set(0, '40'); // and has committed part of it before the first look
  const k = keeper(epochs, source);
  await tick(k);
  t.equal(source.rewinds, 0, 'no rewind: the consumer is reading from the start already');
  t.equal(epochs.epoch?.state, 'refilling', 'not ready before the log end');
  source.committed.set(0, END);
  await tick(k);
  t.equal(epochs.epoch?.state, 'ready');

  // Later the store loses its state: what this process wrote is gone, so the log is replayed.
  lose(epochs);
  await tick(k);
  t.equal(source.rewinds, 1, 'a later loss rewinds');
  t.equal(epochs.epoch?.state, 'refilling', 'and offsets committed before it prove nothing');
  source.committed.set(0, END);
  await tick(k);
  t.equal(epochs.epoch?.state, 'ready');
});
