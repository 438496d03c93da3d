/**
 * ioredis clients that fail fast (DESIGN.md §6 "Redis unreachable"): no
 * offline queue (a command while disconnected rejects at once instead of
 * waiting for a reconnect), a per-command timeout, bounded retries, and a
 * capped reconnect backoff. The decision path uses the read profile (a few
 * ms); the ingester uses the write profile (it may wait longer, it is not on
 * the checkout path).
 */
import { Redis, type RedisOptions } from 'ioredis';

export const READ_COMMAND_TIMEOUT_MS = 5;
export const WRITE_COMMAND_TIMEOUT_MS = 2_000;
export const RECONNECT_MAX_DELAY_MS = 500;
export const CONNECT_TIMEOUT_MS = 1_000;

export type RedisProfile = 'read' | 'write';

export function redisOptions(profile: RedisProfile): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: profile === 'read' ? 0 : 1,
    commandTimeout: profile === 'read' ? READ_COMMAND_TIMEOUT_MS : WRITE_COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(RECONNECT_MAX_DELAY_MS, 50 * times),
    lazyConnect: true,
  };
}

/** Connects (rejecting if Redis is unreachable now) and returns the client. */
export async function createRedisClient(
  url: string,
  profile: RedisProfile,
  overrides: RedisOptions = {},
): Promise<Redis> {
  const client = new Redis(url, { ...redisOptions(profile), ...overrides });
  // Without a listener ioredis prints every connection error; callers observe errors through rejections.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
