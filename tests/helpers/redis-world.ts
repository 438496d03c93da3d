/**
 * The tiny world written into a real Redis the way production gets it: the
 * directory as a versioned set through the batch job's publisher
 * (redis-node-sets.ts, named as the job names it), stock and heartbeats
 * through the ingester's write path (RedisFeatureStore.applyEvents). Times
 * are relative to `nowMs` (real time: the sidecars under test run on the
 * wall clock).
 */

import { connectRedis, type RedisClient } from '../../adapters/src/redis/redis-client.js';
import { RedisFeatureStore } from '../../adapters/src/redis/redis-feature-store.js';
import { publishDirectory } from '../../adapters/src/redis/redis-node-sets.js';
import { contentVersion } from '../../batch/src/batch-version.js';
import type { NodeInfo } from '../../features/src/node-profile.js';
import type { InventoryEvent } from '../../proto/v1/inventory-event.js';
import { encodeNodeInfo } from '../../proto/v1/node-directory.js';
import { ev } from './events.js';
import { TINY_NODES } from './tiny-world.js';

export interface StockLine {
  sku: string;
  node: string;
  units: number;
}

export async function seedRedis(
  url: string,
  region: string,
  stock: StockLine[],
  nowMs = Date.now(),
  nodes: NodeInfo[] = TINY_NODES,
): Promise<void> {
  const client = await connectRedis(url, 'write');
  try {
    // The tiny world's nodes live wherever it is seeded (a directory set holds only its region's nodes).
    await publishTestDirectory(
      client,
      region,
      nodes.map((n) => ({ ...n, region })),
      nowMs,
    );
    const events: InventoryEvent[] = nodes.map((n) =>
      ev('heartbeat', 0, 1, { node: n.nodeId, atMs: nowMs - 1_000 }),
    );
    for (const s of stock)
      events.push(ev('receipt', s.units, 1, { sku: s.sku, node: s.node, atMs: nowMs - 2_000 }));
    await new RedisFeatureStore(client, region).applyEvents(events);
  } finally {
    client.disconnect();
  }
}

/** Heartbeats for every node at `nowMs` (keeps nodes fresh in long tests). */
export async function heartbeat(
  url: string,
  region: string,
  nowMs = Date.now(),
  nodes = TINY_NODES,
): Promise<void> {
  const client = await connectRedis(url, 'write');
  try {
    const seq = Math.floor(nowMs / 1000);
    await new RedisFeatureStore(client, region).applyEvents(
      nodes.map((n) => ev('heartbeat', 0, seq, { node: n.nodeId, atMs: nowMs })),
    );
  } finally {
    client.disconnect();
  }
}

/** Publishes `nodes` as the region's current directory, versioned by content as the batch job does. */
export async function publishTestDirectory(
  client: RedisClient,
  region: string,
  nodes: readonly NodeInfo[],
  nowMs = Date.now(),
): Promise<string> {
  const version = contentVersion(nodes.map(encodeNodeInfo).join('\n'));
  await publishDirectory(client, region, version, nodes, nowMs);
  return version;
}
