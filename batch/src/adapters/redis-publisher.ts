/** The regional Redis behind the NodeSetPublisher port (versioned sets, atomic switch). */

import { publishBatchSet, publishDirectory } from '@mercato/adapters/redis/redis-node-sets';
import type { Redis } from 'ioredis';
import type { NodeSetPublisher } from '../ports.js';

export function redisNodeSetPublisher(redis: Redis, region: string): NodeSetPublisher {
  return {
    async publishDirectory(version, nodes, computedAtMs) {
      await publishDirectory(redis, region, version, nodes, computedAtMs);
    },
    async publishBatch(set) {
      await publishBatchSet(redis, set);
    },
  };
}
