/**
 * Connects the Redis adapters a production `serve` uses: the feature store
 * (read profile: a few ms per command, no offline queue), the node directory
 * (the batch job's versioned sets), the stream health the ingester reports
 * (its lag records) and the soft reservations (their own client, with a
 * command timeout inside the engine's reservation budget). Returns the
 * config fragment for createSidecar and the closers that stop timers and
 * disconnect.
 *
 * Every business-time reading (hold expiry, refresh stamps, report ages)
 * uses the given platform clock: a closed-loop world's `--world-clock`, or
 * the wall clock. Periods that business work is compared against (the lag
 * reports' refresh) are converted to wall time with `clock.wallMs`.
 */

import { createRedisClient } from '@mercato/adapters/redis/redis-client';
import { RedisFeatureStore } from '@mercato/adapters/redis/redis-feature-store';
import { RedisNodeDirectory } from '@mercato/adapters/redis/redis-node-directory';
import { RedisStreamHealthReader } from '@mercato/adapters/redis/redis-stream-health';
import { type Clock, systemClock } from '@mercato/platform/clock';
import type { Logger } from '@mercato/platform/logger';
import { LAG_REPORT_INTERVAL_MS } from '@mercato/proto/v1/stream-lag';
import type { Redis } from 'ioredis';
import { HoldJournal } from './adapters/redis/hold-journal.js';
import {
  HOLD_KEY_TTL_MS,
  RESERVATION_COMMAND_TIMEOUT_MS,
  RedisReservationStore,
} from './adapters/redis/redis-reservation-store.js';
import { StoreEpochGuard } from './adapters/redis/store-epoch-guard.js';
import { newSidecarId } from './decision/decision-id.js';

export interface RedisStores {
  featureReader: RedisFeatureStore;
  nodeDirectory: RedisNodeDirectory;
  reservations: RedisReservationStore;
  /** The ingester's lag reports, refreshed into a local copy (the decision core's StreamHealth). */
  streamHealth: RedisStreamHealthReader;
  /** Whether holds may be granted after a Redis loss (DESIGN.md §6); its state is a metric and in /readyz. */
  epochGuard: StoreEpochGuard;
  clients: Redis[];
  closers: (() => Promise<void> | void)[];
}

/** Connection attempts at start before giving up (Redis may be starting too). */
export const CONNECT_ATTEMPTS = 10;
export const CONNECT_RETRY_DELAY_MS = 500;
/**
 * Floor of the lag reports' refresh period in wall ms: a fast world clock
 * shrinks the period (the ingester reports once a business second), but a
 * read of the small lag hash more often than this buys nothing.
 */
export const STREAM_HEALTH_MIN_REFRESH_MS = 20;

export interface RedisWiringOptions {
  /** Business time (default: the wall clock). */
  clock?: Clock;
  logger?: Logger;
  /** `--hold-journal PATH`: the hold journal's file (default: memory only). */
  holdJournalPath?: string | null;
  /** `--hold-wait-replicas N --hold-wait-ms M`: hot-SKU holds acknowledged by N replicas (0: off). */
  holdWaitReplicas?: number;
  holdWaitMs?: number;
  /** Name of this sidecar in the store epoch's rebuild marks (default: random). */
  sidecarId?: string;
}

/**
 * The decision-path clients skip ioredis' ready check: it is an INFO command
 * subject to the few-ms command timeout, which a busy process at start-up
 * can miss, failing a healthy connection.
 */
const FAST_CLIENT = { enableReadyCheck: false };

export async function connectRedisStores(
  url: string,
  region: string,
  opts: RedisWiringOptions = {},
): Promise<RedisStores> {
  const clients: Redis[] = [];
  const connect = async (profile: 'read' | 'write', overrides = {}): Promise<Redis> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const c = await createRedisClient(url, profile, overrides);
        clients.push(c);
        return c;
      } catch (err) {
        if (attempt >= CONNECT_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, CONNECT_RETRY_DELAY_MS));
      }
    }
  };
  try {
    return await wire(region, opts, connect);
  } catch (err) {
    for (const c of clients) c.disconnect();
    throw err;
  }
}

async function wire(
  region: string,
  opts: RedisWiringOptions,
  connect: (profile: 'read' | 'write', overrides?: object) => Promise<Redis>,
): Promise<RedisStores> {
  const reads = await connect('read', FAST_CLIENT);
  const holds = await connect('read', { ...FAST_CLIENT, commandTimeout: RESERVATION_COMMAND_TIMEOUT_MS });
  // Refreshes are not on the decision path: they may take longer than a decision read.
  const background = await connect('write');
  // The liveness refresh reads the whole nodes hash: it goes through the background client.
  const clock = opts.clock ?? systemClock;
  const now = clock.now;
  const featureReader = new RedisFeatureStore(reads, region, background);
  const nodeDirectory = new RedisNodeDirectory(background, region, { clock: now, logger: opts.logger });
  // Hold keys expire on Redis' wall clock: a world slower than the wall needs them to live longer.
  const keyTtlMs = Math.max(HOLD_KEY_TTL_MS, Math.ceil(clock.wallMs(HOLD_KEY_TTL_MS)));
  const journal = new HoldJournal(opts.holdJournalPath ?? null);
  journal.open(now());
  const reservations = new RedisReservationStore(holds, region, now, keyTtlMs, {
    journal,
    waitReplicas: opts.holdWaitReplicas ?? 0,
    waitMs: opts.holdWaitMs ?? 0,
  });
  const epochGuard = new StoreEpochGuard({
    region,
    sidecarId: opts.sidecarId ?? newSidecarId(),
    redis: background,
    journal,
    rebuild: (h) => reservations.rebuild(h),
    clock: now,
    logger: opts.logger,
  });
  reservations.useGate(epochGuard);
  // A failover swaps the server under the connection: no hold until the epoch is checked again.
  holds.on('close', () => epochGuard.suspect());
  holds.on('ready', () => epochGuard.suspect());
  const streamHealth = new RedisStreamHealthReader(background, region, { clock: now });
  await nodeDirectory.start();
  await reservations.start();
  await epochGuard.start();
  await featureReader.start();
  await streamHealth.start(
    Math.max(STREAM_HEALTH_MIN_REFRESH_MS, Math.round(clock.wallMs(LAG_REPORT_INTERVAL_MS))),
  );
  return {
    featureReader,
    nodeDirectory,
    reservations,
    streamHealth,
    epochGuard,
    clients: [reads, holds, background],
    closers: [
      () => epochGuard.stop(),
      () => nodeDirectory.stop(),
      () => reservations.stop(),
      () => featureReader.stop(),
      () => streamHealth.stop(),
      () => {
        reads.disconnect();
        holds.disconnect();
        background.disconnect();
      },
    ],
  };
}
