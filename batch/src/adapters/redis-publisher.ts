/** The regional Redis behind the NodeSetPublisher port (versioned sets, atomic switch). */

import type { RedisClient } from '@mercato/adapters/redis/redis-client';
import { publishBatchSet, publishDirectory } from '@mercato/adapters/redis/redis-node-sets';
import type { NodeSetPublisher } from '../ports.js';

export function redisNodeSetPublisher(redis: RedisClient, region: string): NodeSetPublisher {
  return {
    async publishDirectory(version, nodes, computedAtMs) {
      await publishDirectory(redis, region, version, nodes, computedAtMs);
    },
    async publishBatch(set) {
      await publishBatchSet(redis, set);
    },
  };
}
