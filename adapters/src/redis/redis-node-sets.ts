/**
 * The node directory and the batch node features in the regional Redis, as
 * versioned sets behind a pointer (DESIGN §4: batch features are loaded with
 * a version). A publisher writes the whole set under a new version key, then
 * moves the `current` pointer with one SET: a reader sees the old set or the
 * new one, never a mix, and a half-written set is never current. The last
 * RETAINED_VERSIONS sets stay for inspection and rollback; older ones are
 * deleted after the switch.
 *
 * Keys (one hash tag per region and kind, so pointer and sets share a Redis
 * Cluster slot):
 * - `atp:{<region>:dir}:current`         string: the directory version readers use
 * - `atp:{<region>:dir}:v:<version>`     hash: node id -> NodeInfo wire JSON, `__meta` -> SetMeta JSON
 * - `atp:{<region>:batch}:current`       string: the batch-features version readers use
 * - `atp:{<region>:batch}:v:<version>`   hash: node id -> batch features wire JSON, `__meta` -> SetMeta JSON
 * - `atp:{<region>:<kind>}:versions`     list of versions, newest first (retention)
 *
 * Values are validated on the way in (publishers) and on the way out
 * (readers): a corrupt entry is refused by name, never half-read.
 */

import {
  type BatchFeatureSet,
  checkBatchVersion,
  decodeBatchFeatures,
  decodeNodeInfo,
  encodeBatchFeatures,
  encodeNodeInfo,
  type NodeBatchFeatures,
  type NodeInfo,
} from '@mercato/proto/v1/node-directory';
import { ContractError } from '@mercato/proto/v1/validate';
import type { RedisClient } from './cluster-slots.js';

export type NodeSetKind = 'dir' | 'batch';

/** Sets kept after a switch (the current one included). */
export const RETAINED_VERSIONS = 3;
/** Hash fields written per HSET call: bounded so one command never blocks Redis for long. */
export const PUBLISH_CHUNK_FIELDS = 5_000;
export const META_FIELD = '__meta';

export interface SetMeta {
  version: string;
  region: string;
  computedAtMs: number;
  windowStartMs: number;
  windowEndMs: number;
  entries: number;
}

export function currentKey(region: string, kind: NodeSetKind): string {
  return `atp:{${region}:${kind}}:current`;
}

export function versionKey(region: string, kind: NodeSetKind, version: string): string {
  return `atp:{${region}:${kind}}:v:${version}`;
}

export function versionsKey(region: string, kind: NodeSetKind): string {
  return `atp:{${region}:${kind}}:versions`;
}

/** Writes the directory as a new version and makes it current. */
export async function publishDirectory(
  redis: RedisClient,
  region: string,
  version: string,
  nodes: readonly NodeInfo[],
  computedAtMs: number,
): Promise<SetMeta> {
  for (const n of nodes) {
    if (n.region !== region)
      throw new ContractError('region', `node ${n.nodeId} belongs to ${n.region}, not ${region}`);
  }
  const meta: SetMeta = {
    version,
    region,
    computedAtMs,
    windowStartMs: computedAtMs,
    windowEndMs: computedAtMs,
    entries: nodes.length,
  };
  await publishSet(
    redis,
    region,
    'dir',
    meta,
    nodes.map((n) => [n.nodeId, encodeNodeInfo(n)] as const),
  );
  return meta;
}

/** Writes a batch feature set as a new version and makes it current. */
export async function publishBatchSet(redis: RedisClient, set: BatchFeatureSet): Promise<SetMeta> {
  const meta: SetMeta = {
    version: set.version,
    region: set.region,
    computedAtMs: set.computedAtMs,
    windowStartMs: set.windowStartMs,
    windowEndMs: set.windowEndMs,
    entries: set.nodes.size,
  };
  const fields = [...set.nodes].map(([node, f]) => [node, encodeBatchFeatures(node, f)] as const);
  await publishSet(redis, set.region, 'batch', meta, fields);
  return meta;
}

async function publishSet(
  redis: RedisClient,
  region: string,
  kind: NodeSetKind,
  meta: SetMeta,
  fields: readonly (readonly [string, string])[],
): Promise<void> {
  checkBatchVersion(meta.version);
  const key = versionKey(region, kind, meta.version);
  // A version is immutable once published: re-running the same job is a no-op switch, a
  // different content under a used name is refused.
  const existing = await redis.hget(key, META_FIELD);
  if (existing !== null) {
    const old = JSON.parse(existing) as SetMeta;
    if (old.entries !== meta.entries) {
      throw new ContractError(
        'version',
        `${meta.version} already holds a different set (${old.entries} entries)`,
      );
    }
  } else {
    for (let i = 0; i < fields.length; i += PUBLISH_CHUNK_FIELDS) {
      const args: string[] = [];
      for (const [f, v] of fields.slice(i, i + PUBLISH_CHUNK_FIELDS)) args.push(f, v);
      await redis.hset(key, ...args);
    }
    // The meta field goes last: a set without it was interrupted and is never switched to.
    await redis.hset(key, META_FIELD, JSON.stringify(meta));
  }
  await redis.set(currentKey(region, kind), meta.version);
  await redis.lrem(versionsKey(region, kind), 0, meta.version);
  await redis.lpush(versionsKey(region, kind), meta.version);
  const stale = await redis.lrange(versionsKey(region, kind), RETAINED_VERSIONS, -1);
  for (const v of stale) await redis.del(versionKey(region, kind, v));
  await redis.ltrim(versionsKey(region, kind), 0, RETAINED_VERSIONS - 1);
}

/** The current version of a kind, or null when nothing was published. */
export async function readCurrentVersion(
  redis: RedisClient,
  region: string,
  kind: NodeSetKind,
): Promise<string | null> {
  return redis.get(currentKey(region, kind));
}

export interface DirectorySet {
  meta: SetMeta;
  nodes: NodeInfo[];
}

export interface BatchSet {
  meta: SetMeta;
  features: Map<string, NodeBatchFeatures>;
}

/** Reads one directory version; refuses (naming the node) an entry that fails its contract. */
export async function readDirectory(
  redis: RedisClient,
  region: string,
  version: string,
): Promise<DirectorySet | null> {
  const raw = await redis.hgetall(versionKey(region, 'dir', version));
  const meta = metaOf(raw, version);
  if (meta === null) return null;
  const nodes: NodeInfo[] = [];
  for (const [field, value] of Object.entries(raw)) {
    if (field === META_FIELD) continue;
    const n = withField(`dir:${field}`, () => decodeNodeInfo(value));
    if (n.nodeId !== field) throw new ContractError(`dir:${field}.node_id`, `holds the entry of ${n.nodeId}`);
    if (n.region !== region)
      throw new ContractError(`dir:${field}.region`, `belongs to ${n.region}, not ${region}`);
    nodes.push(n);
  }
  return { meta, nodes };
}

export async function readBatchSet(
  redis: RedisClient,
  region: string,
  version: string,
): Promise<BatchSet | null> {
  const raw = await redis.hgetall(versionKey(region, 'batch', version));
  const meta = metaOf(raw, version);
  if (meta === null) return null;
  const features = new Map<string, NodeBatchFeatures>();
  for (const [field, value] of Object.entries(raw)) {
    if (field === META_FIELD) continue;
    const f = withField(`batch:${field}`, () => decodeBatchFeatures(value));
    if (f.nodeId !== field)
      throw new ContractError(`batch:${field}.node_id`, `holds the features of ${f.nodeId}`);
    features.set(f.nodeId, f.features);
  }
  return { meta, features };
}

function metaOf(raw: Record<string, string>, version: string): SetMeta | null {
  const m = raw[META_FIELD];
  if (m === undefined) return null;
  let meta: Partial<SetMeta>;
  try {
    meta = JSON.parse(m) as Partial<SetMeta>;
  } catch {
    throw new ContractError(META_FIELD, 'is not JSON');
  }
  if (meta === null || typeof meta !== 'object') throw new ContractError(META_FIELD, 'expected an object');
  if (meta.version !== version)
    throw new ContractError(`${META_FIELD}.version`, `expected ${version}, got ${String(meta.version)}`);
  for (const k of ['computedAtMs', 'windowStartMs', 'windowEndMs', 'entries'] as const) {
    if (typeof meta[k] !== 'number' || !Number.isFinite(meta[k]))
      throw new ContractError(`${META_FIELD}.${k}`, 'expected a number');
  }
  const entries = Object.keys(raw).length - 1;
  if (entries !== meta.entries)
    throw new ContractError(`${META_FIELD}.entries`, `says ${meta.entries}, the set holds ${entries}`);
  return meta as SetMeta;
}

function withField<T>(where: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ContractError) {
      // The field moves under `where`; the problem text stays as the contract worded it.
      throw new ContractError(`${where}.${err.field}`, err.message.slice(err.field.length + 2));
    }
    throw err;
  }
}
