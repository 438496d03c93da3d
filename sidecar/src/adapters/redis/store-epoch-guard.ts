/**
 * Watches the region's store epoch (adapters/redis/redis-store-epoch.ts) and
 * says whether holds may be granted (DESIGN.md §6 "Redis lost its state").
 *
 * States:
 * - `unarmed`   no epoch ever seen (a store seeded without an ingester):
 *               holds count from the stock records alone, as before epochs;
 * - `serving`   the epoch is ready and every live sidecar rebuilt its holds;
 * - `lost`      the epoch hash is gone or the server's replication id changed
 *               (restart without data, failover to a replica): no hold until the
 *               ingester starts a new epoch;
 * - `refilling` a new epoch: the ingester replays the SKUs, sidecars replay
 *               their hold journals; no hold until both are done;
 * - `unverified` the reservation connection dropped (a failover swaps servers
 *               under it): no hold until the next check passes.
 * Checks run every EPOCH_CHECK_INTERVAL_MS on the background client, at once
 * after a reconnect and after a `stock-missing` refusal. Once armed (an epoch
 * seen), a missing epoch is a loss.
 */
import type { RedisClient } from '@mercato/adapters/redis/redis-client';
import {
  epochLost,
  epochServing,
  liveSidecars,
  markHoldsRebuilt,
  readEpoch,
  registerSidecar,
} from '@mercato/adapters/redis/redis-store-epoch';
import type { Logger } from '@mercato/platform/logger';
import { Periodic } from '@mercato/platform/periodic';
import type { HoldJournal, JournaledHold } from './hold-journal.js';

/** Period of the epoch check (wall ms): the longest a loss behind a live connection goes unseen. */
export const EPOCH_CHECK_INTERVAL_MS = 200;

export type EpochGuardState = 'unarmed' | 'serving' | 'lost' | 'refilling' | 'unverified';

export interface StoreEpochGuardOptions {
  region: string;
  sidecarId: string;
  /** Client of the checks (not the reservation client: its command timeout is a few ms). */
  redis: RedisClient;
  journal: HoldJournal;
  /** Writes journaled holds back into Redis (the reservation store's rebuild script). */
  rebuild: (holds: readonly JournaledHold[]) => Promise<void>;
  /** Business time, for the journal's expiries. */
  clock: () => number;
  intervalMs?: number;
  logger?: Logger;
}

export class StoreEpochGuard {
  private stateNow: EpochGuardState = 'unarmed';
  private armed = false;
  private rebuiltFor = '';
  private periodic: Periodic | null = null;
  /** Bumped by suspect(): a check that began before it cannot reopen the gate. */
  private suspicion = 0;

  constructor(private readonly opts: StoreEpochGuardOptions) {}

  get state(): EpochGuardState {
    return this.stateNow;
  }

  /** True when holds may be granted. Read per hold: a field read, no round trip. */
  get open(): boolean {
    return this.stateNow === 'serving' || this.stateNow === 'unarmed';
  }

  /** First check now (a failure leaves the guard unarmed: the store may not be initialised yet), then periodic. */
  async start(): Promise<void> {
    if (this.periodic !== null) return;
    this.periodic = new Periodic({
      name: 'store-epoch',
      intervalMs: this.opts.intervalMs ?? EPOCH_CHECK_INTERVAL_MS,
      run: () => this.check(),
      onError: (err) => this.opts.logger?.warn({ err: (err as Error).message }, 'store epoch check failed'),
    });
    await this.check().catch(() => undefined);
    await this.periodic.start();
  }

  async stop(): Promise<void> {
    const p = this.periodic;
    this.periodic = null;
    await p?.stop();
  }

  /** The reservation connection dropped or a record was missing: close until a check passes. */
  suspect(): void {
    this.suspicion++;
    if (!this.armed) {
      this.periodic?.runOnce().catch(() => undefined);
      return;
    }
    if (this.stateNow === 'serving') this.set('unverified');
    this.periodic?.runOnce().catch(() => undefined);
  }

  /** One check: read the epoch, replay the journal for a new one, decide whether holds count. */
  async check(): Promise<void> {
    const { redis, region, sidecarId } = this.opts;
    const suspicion = this.suspicion;
    const reading = await readEpoch(redis, region);
    const wallMs = Date.now();
    if (reading.epoch === null && !this.armed) {
      await registerSidecar(redis, region, sidecarId, wallMs);
      this.set('unarmed');
      return;
    }
    if (epochLost(reading) || reading.epoch === null) {
      this.set('lost');
      return;
    }
    const epoch = reading.epoch;
    this.armed = true;
    if (this.rebuiltFor !== epoch.id) {
      // Registered only once rebuilt, so other sidecars never wait on a sidecar that is replaying.
      const holds = this.opts.journal.liveHolds(this.opts.clock());
      await this.opts.rebuild(holds);
      await markHoldsRebuilt(redis, region, sidecarId, epoch.id);
      epoch.rebuilt.set(sidecarId, epoch.id);
      if (this.rebuiltFor !== '')
        this.opts.logger?.warn({ epoch: epoch.id, holds: holds.length }, 'holds rebuilt');
      this.rebuiltFor = epoch.id;
    }
    await registerSidecar(redis, region, sidecarId, wallMs);
    const live = await liveSidecars(redis, region, wallMs);
    if (suspicion !== this.suspicion) return;
    this.set(epochServing(epoch, live, wallMs) ? 'serving' : 'refilling');
  }

  private set(next: EpochGuardState): void {
    if (next === this.stateNow) return;
    const level = next === 'serving' || next === 'unarmed' ? 'info' : 'warn';
    this.opts.logger?.[level]({ from: this.stateNow, to: next }, 'store epoch state');
    this.stateNow = next;
  }
}
