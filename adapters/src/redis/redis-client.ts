/**
 * ioredis clients that fail fast (DESIGN.md §6 "Redis unreachable"): no
 * offline queue (a command while disconnected rejects at once instead of
 * waiting for a reconnect), a per-command timeout, bounded retries, and a
 * capped reconnect backoff. The decision path uses the read profile (a few
 * ms); the ingester uses the write profile (it may wait longer, it is not on
 * the checkout path).
 *
 * `connectRedis(url)` picks one server or a Redis Cluster from the URL
 * scheme (redis-url.ts): `redis+cluster://h:p,h:p` gives an ioredis Cluster
 * with the same per-node profile, that follows failovers (slot map
 * refreshed every CLUSTER_SLOTS_REFRESH_MS and on every redirection).
 * `createRedisClient` stays for callers typed on a single server.
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { RedisClient } from './cluster-slots.js';
import { parseRedisUrl, redactRedisUrl } from './redis-url.js';

export type { RedisClient } from './cluster-slots.js';

export const READ_COMMAND_TIMEOUT_MS = 5;
export const WRITE_COMMAND_TIMEOUT_MS = 2_000;
export const RECONNECT_MAX_DELAY_MS = 500;
export const CONNECT_TIMEOUT_MS = 1_000;
/**
 * ioredis refreshes its slot map only on redirections unless told to poll;
 * polling every second bounds how long commands keep going to a primary
 * that died (until its replica is promoted, they fail and are retried).
 */
export const CLUSTER_SLOTS_REFRESH_MS = 1_000;
export const CLUSTER_SLOTS_REFRESH_TIMEOUT_MS = 1_000;
/** Pause before a command retried after a MOVED during failover or a CLUSTERDOWN. */
export const CLUSTER_RETRY_DELAY_MS = 100;
export const CLUSTER_MAX_REDIRECTIONS = 16;

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

/** Options of an ioredis Cluster whose node connections use `profile`. */
export function clusterOptions(profile: RedisProfile, node: RedisOptions = {}): ClusterOptions {
  const { retryStrategy: _perNodeRetry, lazyConnect: _lazy, ...perNode } = redisOptions(profile);
  return {
    enableOfflineQueue: false,
    lazyConnect: true,
    scaleReads: 'master',
    maxRedirections: CLUSTER_MAX_REDIRECTIONS,
    retryDelayOnMoved: 0,
    retryDelayOnFailover: CLUSTER_RETRY_DELAY_MS,
    retryDelayOnClusterDown: CLUSTER_RETRY_DELAY_MS,
    retryDelayOnTryAgain: CLUSTER_RETRY_DELAY_MS,
    slotsRefreshInterval: CLUSTER_SLOTS_REFRESH_MS,
    slotsRefreshTimeout: CLUSTER_SLOTS_REFRESH_TIMEOUT_MS,
    clusterRetryStrategy: (times) => Math.min(RECONNECT_MAX_DELAY_MS, 50 * times),
    redisOptions: { ...perNode, ...node },
  };
}

/** Connects (rejecting if Redis is unreachable now) and returns the client. One server only. */
export async function createRedisClient(
  url: string,
  profile: RedisProfile,
  overrides: RedisOptions = {},
): Promise<Redis> {
  const target = parseRedisUrl(url);
  if (target.kind !== 'single') {
    throw new TypeError(`${redactRedisUrl(url)} names a Redis Cluster: connect with connectRedis()`);
  }
  const client = new Redis(url, { ...redisOptions(profile), ...overrides });
  await connectOrDispose(client);
  return client;
}

/**
 * Connects to one server or a cluster as the URL says (rejecting if it is
 * unreachable now). `overrides` apply to every node connection.
 */
export async function connectRedis(
  url: string,
  profile: RedisProfile,
  overrides: RedisOptions = {},
): Promise<RedisClient> {
  const target = parseRedisUrl(url);
  if (target.kind === 'single') return createRedisClient(url, profile, overrides);
  const node: RedisOptions = { ...overrides };
  if (target.username !== undefined) node.username = target.username;
  if (target.password !== undefined) node.password = target.password;
  if (target.tls) node.tls = {};
  const client = new Cluster(target.seeds, clusterOptions(profile, node));
  await connectOrDispose(client);
  return client;
}

async function connectOrDispose(client: RedisClient): Promise<void> {
  // Without a listener ioredis prints every connection error; callers observe errors through rejections.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    // Otherwise the refused client keeps reconnecting (retryStrategy) and holds the process open.
    client.disconnect();
    throw err;
  }
}
