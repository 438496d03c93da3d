/**
 * Connects the Redis adapters a production `serve` uses: the feature store
 * (read profile: a few ms per command, no offline queue), the node directory
 * and the soft reservations (their own client, with a command timeout inside
 * the engine's reservation budget). Returns the config fragment for
 * createSidecar and the closers that stop timers and disconnect.
 */

import { createRedisClient } from '@mercato/adapters/redis/redis-client';
import { RedisFeatureStore } from '@mercato/adapters/redis/redis-feature-store';
import { RedisNodeDirectory } from '@mercato/adapters/redis/redis-node-directory';
import type { Redis } from 'ioredis';
import {
  RESERVATION_COMMAND_TIMEOUT_MS,
  RedisReservationStore,
} from './adapters/redis/redis-reservation-store.js';
import type { Clock } from './decision/ports.js';

export interface RedisStores {
  featureReader: RedisFeatureStore;
  nodeDirectory: RedisNodeDirectory;
  reservations: RedisReservationStore;
  clients: Redis[];
  closers: (() => Promise<void> | void)[];
}

/** Connection attempts at start before giving up (Redis may be starting too). */
export const CONNECT_ATTEMPTS = 10;
export const CONNECT_RETRY_DELAY_MS = 500;

/**
 * The decision-path clients skip ioredis' ready check: it is an INFO command
 * subject to the few-ms command timeout, which a busy process at start-up
 * can miss, failing a healthy connection.
 */
const FAST_CLIENT = { enableReadyCheck: false };

export async function connectRedisStores(
  url: string,
  region: string,
  clock: Clock = Date.now,
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
    return await wire(region, clock, connect);
  } catch (err) {
    for (const c of clients) c.disconnect();
    throw err;
  }
}

async function wire(
  region: string,
  clock: Clock,
  connect: (profile: 'read' | 'write', overrides?: object) => Promise<Redis>,
): Promise<RedisStores> {
  const reads = await connect('read', FAST_CLIENT);
  const holds = await connect('read', { ...FAST_CLIENT, commandTimeout: RESERVATION_COMMAND_TIMEOUT_MS });
  // Refreshes are not on the decision path: they may take longer than a decision read.
  const background = await connect('write');
  // The liveness refresh reads the whole nodes hash: it goes through the background client.
  const featureReader = new RedisFeatureStore(reads, region, background);
  const nodeDirectory = new RedisNodeDirectory(background, region);
  const reservations = new RedisReservationStore(holds, region, clock);
  await nodeDirectory.start();
  await reservations.start();
  await featureReader.start();
  return {
    featureReader,
    nodeDirectory,
    reservations,
    clients: [reads, holds, background],
    closers: [
      () => nodeDirectory.stop(),
      () => reservations.stop(),
      () => featureReader.stop(),
      () => {
        reads.disconnect();
        holds.disconnect();
        background.disconnect();
      },
    ],
  };
}
