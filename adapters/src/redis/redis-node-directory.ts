/**
 * Node directory kept in the regional Redis (`directoryKey`, `batchFeaturesKey`)
 * and read into a local MemoryNodeDirectory: lookups on the decision path are
 * synchronous map reads; a timer refreshes the copy (directory facts and
 * batch features change on a minutes-to-days scale). A failed refresh keeps
 * the last good copy.
 */

import type { NodeBatchFeatures, NodeInfo } from '@mercato/features/node-profile';
import type { NodeDirectory, ZoneRoute } from '@mercato/features/store-ports';
import type { Redis } from 'ioredis';
import { MemoryNodeDirectory } from '../memory/memory-node-directory.js';
import { BATCH_VERSION_FIELD, batchFeaturesKey, directoryKey } from './redis-keys.js';

export const DIRECTORY_REFRESH_MS = 30_000;

export class RedisNodeDirectory implements NodeDirectory {
  readonly local = new MemoryNodeDirectory();
  private timer: NodeJS.Timeout | null = null;
  refreshedAtMs = 0;

  constructor(
    private readonly redis: Redis,
    private readonly region: string,
  ) {}

  /** Loads the directory (rejects if Redis cannot answer now) and starts refreshing it. */
  async start(refreshMs = DIRECTORY_REFRESH_MS): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch(() => undefined);
    }, refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  async refresh(): Promise<void> {
    const [dir, batch] = await Promise.all([
      this.redis.hgetall(directoryKey(this.region)),
      this.redis.hgetall(batchFeaturesKey(this.region)),
    ]);
    const nodes = Object.values(dir).map((v) => JSON.parse(v) as NodeInfo);
    this.local.replaceAll(nodes);
    const version = batch[BATCH_VERSION_FIELD];
    if (version !== undefined && version !== this.local.batchVersion) {
      const map = new Map<string, NodeBatchFeatures>();
      for (const [node, v] of Object.entries(batch)) {
        if (node !== BATCH_VERSION_FIELD) map.set(node, JSON.parse(v) as NodeBatchFeatures);
      }
      this.local.loadBatch(version, map);
    }
    this.refreshedAtMs = Date.now();
  }

  info(nodeId: string): NodeInfo | undefined {
    return this.local.info(nodeId);
  }

  batch(nodeId: string): NodeBatchFeatures {
    return this.local.batch(nodeId);
  }

  get batchVersion(): string {
    return this.local.batchVersion;
  }

  serviceable(region: string, buyerZone: string): ReadonlyMap<string, ZoneRoute> {
    return this.local.serviceable(region, buyerZone);
  }
}

/** Writes directory facts (a loader or test; the sidecar only reads). */
export async function publishNodeDirectory(
  redis: Redis,
  region: string,
  nodes: readonly NodeInfo[],
): Promise<void> {
  if (nodes.length === 0) return;
  const args: string[] = [];
  for (const n of nodes) args.push(n.nodeId, JSON.stringify(n));
  await redis.hset(directoryKey(region), ...args);
}

/** Replaces the batch features with a new version in one MULTI, so readers never see a mix. */
export async function publishBatchFeatures(
  redis: Redis,
  region: string,
  version: string,
  features: ReadonlyMap<string, NodeBatchFeatures>,
): Promise<void> {
  const key = batchFeaturesKey(region);
  const args: string[] = [BATCH_VERSION_FIELD, version];
  for (const [node, f] of features) args.push(node, JSON.stringify(f));
  await redis
    .multi()
    .del(key)
    .hset(key, ...args)
    .exec();
}
