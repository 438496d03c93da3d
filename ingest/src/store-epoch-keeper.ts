/**
 * The ingester's half of the store epoch (DESIGN.md §6 "Redis lost its
 * state"). Every EPOCH_WATCH_INTERVAL_MS it asks whether the feature store
 * lost its state (no epoch, or another server's replication id). On a loss
 * it starts a new epoch (`refilling`: sidecars grant no hold), notes the log
 * end of every partition, rewinds the consumer group to the earliest retained
 * records and lets the sequenced apply write the SKUs again; once the group
 * has committed up to the noted ends it marks the epoch `ready`.
 *
 * The refill is as complete as the topic's retention: stock history older
 * than the earliest retained record is not replayed (decisions.md).
 */
import type { Logger } from '@mercato/platform/logger';
import { Periodic } from '@mercato/platform/periodic';
import type { EventSource, StoreEpochs } from './ports.js';

export const EPOCH_WATCH_INTERVAL_MS = 500;

interface Refill {
  id: string;
  /** Partition -> log end when the refill began: replayed once committed up to it. */
  targets: Map<number, string>;
  /** The group was rewound (or had nothing committed): until then, committed offsets prove nothing. */
  rewound: boolean;
  /**
   * Begun (or adopted) at this process's first look, by a group that had committed nothing when the source
   * started: this very process reads the log from its start, so nothing needs rewinding (a rewind while the
   * consumer is still joining only costs a rejoin).
   */
  fresh: boolean;
}

export interface StoreEpochKeeperDeps {
  epochs: StoreEpochs;
  source: EventSource;
  log: Logger;
  clock: () => number;
}

export class StoreEpochKeeper {
  private refill: Refill | null = null;
  private periodic: Periodic | null = null;
  /** Epochs begun (a metric-like count for tests and logs). */
  epochsBegun = 0;
  /** Whether the first tick looked for an epoch another ingester left refilling. */
  private resumeChecked = false;
  /** Whether a tick has run (the first one may find the store as this process started it). */
  private looked = false;

  constructor(private readonly deps: StoreEpochKeeperDeps) {}

  /** True while a refill runs (its epoch is not ready). */
  get refilling(): boolean {
    return this.refill !== null;
  }

  /** Call once the source runs: a store without an epoch gets one now (and is replayed). */
  async start(intervalMs = EPOCH_WATCH_INTERVAL_MS): Promise<void> {
    if (this.periodic !== null) return;
    this.periodic = new Periodic({
      name: 'store-epoch',
      intervalMs,
      run: () => this.tick(),
      onError: (err) => this.deps.log.warn({ err: (err as Error).message }, 'store epoch watch failed'),
    });
    await this.tick().catch((err) =>
      this.deps.log.warn({ err: (err as Error).message }, 'store epoch watch failed'),
    );
    await this.periodic.start();
  }

  async stop(): Promise<void> {
    const p = this.periodic;
    this.periodic = null;
    await p?.stop();
  }

  async tick(): Promise<void> {
    const { epochs, source, log } = this.deps;
    const fresh = !this.looked && source.hadCommitsAtStart?.() === false;
    this.looked = true;
    if (await epochs.lost()) {
      // The log ends first: a failure here leaves no epoch begun, and the next tick tries again.
      const targets = await source.highWatermarks();
      const id = await epochs.begin(this.deps.clock());
      this.epochsBegun++;
      this.resumeChecked = true;
      log.warn({ epoch: id }, 'feature store lost its state: new epoch, replaying the log');
      // A loss during a refill starts over: what was replayed may be gone too.
      this.refill = { id, targets, rewound: false, fresh };
    } else if (this.refill === null && !this.resumeChecked) {
      // At start: an epoch another ingester left refilling (it stopped, or failed between its steps) is ours to finish.
      this.resumeChecked = true;
      const id = await epochs.refilling();
      if (id !== null) {
        log.warn({ epoch: id }, 'the feature store epoch is refilling: replaying the log to finish it');
        this.refill = { id, targets: await source.highWatermarks(), rewound: false, fresh };
      }
    }
    const refill = this.refill;
    if (refill === null) return;
    if (!refill.rewound) {
      if (refill.fresh || (await source.committedOffsets()).size === 0) {
        // A group that never committed reads the log from its start anyway: nothing to rewind.
      } else if (source.rewindToStart === undefined) {
        log.error({ epoch: refill.id }, 'this event source cannot replay: the epoch stays refilling');
        return;
      } else {
        // A failed rewind throws here and is tried again on the next tick; the epoch stays refilling.
        await source.rewindToStart();
      }
      refill.rewound = true;
    }
    const committed = await source.committedOffsets();
    for (const [partition, end] of refill.targets) {
      if (BigInt(end) === 0n) continue;
      const at = committed.get(partition);
      if (at === undefined || BigInt(at) < BigInt(end)) return;
    }
    this.refill = null;
    if (await epochs.ready(refill.id)) log.info({ epoch: refill.id }, 'feature store refilled: epoch ready');
  }
}
