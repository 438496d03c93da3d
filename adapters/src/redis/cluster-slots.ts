/**
 * What Redis Cluster changes for the adapters, in one place.
 *
 * - A pipeline may only carry keys served by one node (ioredis refuses a
 *   pipeline whose keys span nodes), so batched per-SKU commands are split
 *   into one pipeline per node group: `pipelineByNode`. On a single Redis
 *   that is one pipeline, as before.
 * - Every multi-key command and Lua script touches keys of one hash tag
 *   (`{sku}`, `{<region>:dir}`...), so it stays inside one slot (redis-keys.ts).
 * - Durability: a primary acknowledges a write before its replicas have it,
 *   so a failover can lose acknowledged writes. The feature store therefore
 *   asks each primary it wrote to to WAIT for its connected replicas before
 *   reporting a batch durable (`waitForReplicas`), and the ingester commits
 *   only then.
 */
import { AtpError } from '@mercato/platform/errors';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { ADAPTERS_ERR } from '../errors.js';

/** One server or a cluster: every adapter of the regional store takes either. */
export type RedisClient = Redis | Cluster;

export const CLUSTER_SLOTS = 16_384;

export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/** CRC16/XMODEM table (polynomial 0x1021), as Redis Cluster's keyHashSlot uses. */
const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** The cluster slot of `key`: CRC16 of its hash tag (the first non-empty `{...}`) or of the whole key. */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ b) & 0xff] as number);
  return crc % CLUSTER_SLOTS;
}

export interface NodeGroup {
  /** `host:port` of the primary serving these keys (null on a single Redis or before the slot map is known). */
  primary: string | null;
  /** Indexes into the keys given to groupByNode. */
  indexes: number[];
}

/** Splits `keys` by the node group that serves them (a single Redis is one group). */
export function groupByNode(client: RedisClient, keys: readonly string[]): NodeGroup[] {
  if (!isCluster(client) || client.slots.length === 0) {
    return [{ primary: null, indexes: keys.map((_, i) => i) }];
  }
  const groups = new Map<string, NodeGroup>();
  keys.forEach((key, i) => {
    const nodes = client.slots[keySlot(key)] ?? [];
    const id = nodes.join(';');
    let g = groups.get(id);
    if (g === undefined) {
      g = { primary: nodes[0] ?? null, indexes: [] };
      groups.set(id, g);
    }
    g.indexes.push(i);
  });
  return [...groups.values()];
}

/**
 * Runs one command per key (`add(pipeline, index)`) as one pipeline per
 * node group and returns the replies in key order; rejects with the first
 * command error (nothing is then known to be applied or not: callers retry
 * idempotent work). Also returns the groups, for waitForReplicas.
 */
export async function pipelineByNode(
  client: RedisClient,
  keys: readonly string[],
  add: (pipeline: ChainableCommander, index: number) => void,
): Promise<{ replies: unknown[]; groups: NodeGroup[] }> {
  const replies: unknown[] = new Array(keys.length);
  if (keys.length === 0) return { replies, groups: [] };
  const groups = groupByNode(client, keys);
  await Promise.all(
    groups.map(async (g) => {
      const p = client.pipeline();
      for (const i of g.indexes) add(p, i);
      const results = await p.exec();
      if (results === null) {
        throw new AtpError(ADAPTERS_ERR.REDIS_PIPELINE_DISCARDED, 'redis pipeline was discarded');
      }
      results.forEach(([err, value], j) => {
        if (err !== null) throw err;
        replies[g.indexes[j] as number] = value;
      });
    }),
  );
  return { replies, groups };
}

/** How long a primary's count of connected replicas is trusted before it is asked again. */
export const REPLICA_COUNT_TTL_MS = 1_000;

const replicaCounts = new WeakMap<Redis, { count: number; atMs: number }>();

/**
 * Replicas connected to the primary behind `node` now (INFO replication
 * `connected_slaves`), cached for REPLICA_COUNT_TTL_MS. The primary's own
 * count, not the slot map: CLUSTER SLOTS leaves out a replica until it has
 * replicated something, and lists one whose link is down.
 */
async function connectedReplicas(node: Redis): Promise<number> {
  const now = Date.now();
  const cached = replicaCounts.get(node);
  if (cached !== undefined && now - cached.atMs < REPLICA_COUNT_TTL_MS) return cached.count;
  const info = await node.info('replication');
  const count = Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0);
  replicaCounts.set(node, { count, atMs: now });
  return count;
}

/**
 * Waits until every replica connected to each group's primary has the
 * writes this client sent that primary (Redis WAIT on the connection the
 * writes used). Rejects with ATP_ERR_REDIS_NOT_REPLICATED when fewer
 * replicas acknowledged within `timeoutMs`. A primary without a connected
 * replica (a shard just failed over) needs no acknowledgement: as with
 * Kafka's acks=all over the in-sync replicas, durability is "every replica
 * the shard has now", and ingestion goes on while a shard has none.
 */
export async function waitForReplicas(
  client: RedisClient,
  groups: readonly NodeGroup[],
  timeoutMs: number,
): Promise<void> {
  if (!isCluster(client)) return;
  const primaries = new Set<string>();
  for (const g of groups) if (g.primary !== null) primaries.add(g.primary);
  if (primaries.size === 0) return;
  const byKey = new Map<string, Redis>();
  for (const n of client.nodes('master')) byKey.set(`${n.options.host}:${n.options.port}`, n);
  await Promise.all(
    [...primaries].map(async (primary) => {
      const node = byKey.get(primary);
      if (node === undefined) {
        throw new AtpError(
          ADAPTERS_ERR.REDIS_NOT_REPLICATED,
          `no connection to primary ${primary}: its writes cannot be confirmed`,
        );
      }
      const replicas = await connectedReplicas(node);
      if (replicas === 0) return;
      const acked = await node.wait(replicas, timeoutMs);
      if (acked < replicas) {
        replicaCounts.delete(node);
        throw new AtpError(
          ADAPTERS_ERR.REDIS_NOT_REPLICATED,
          `primary ${primary}: ${acked} of ${replicas} replica(s) acknowledged within ${timeoutMs} ms`,
        );
      }
    }),
  );
}
