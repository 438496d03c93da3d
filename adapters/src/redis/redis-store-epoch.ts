/**
 * The store epoch of a region's Redis (DESIGN.md §6 "Redis lost its state").
 * One hash, `atp:<region>:epoch`, written by the ingester when it
 * initialises (or re-initialises) the store:
 * - `id`       random id of this epoch (a new one after every loss);
 * - `state`    `refilling` until the ingester has replayed the SKUs, then `ready`;
 * - `replid`   the server's `master_replid` when the epoch was created: a
 *              promoted replica or a restarted server has another, so a failover
 *              to a replica that still holds the old hash is detected too;
 * - `created`  wall ms of creation;
 * - `sc:<sidecar>` the epoch id for which that sidecar rebuilt its holds
 *              from its hold journal.
 * Beside it, `atp:<region>:sidecars` (field <sidecar> = wall ms last seen)
 * lists the sidecars whose journals must be replayed before holds count again.
 *
 * Both the ingester (writer of id/state) and the sidecars (readers, and
 * writers of their `sc:` field) import this file; nothing else spells these keys.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from './cluster-slots.js';

export const EPOCH_STATES = ['refilling', 'ready'] as const;
export type EpochState = (typeof EPOCH_STATES)[number];
/** A sidecar last seen longer ago than this is not waited for (it is down: its holds are gone with it). */
export const SIDECAR_LIVE_MS = 5_000;
/**
 * After an epoch is created, sidecars get this long to see it and register
 * (they check every few hundred ms) before "every live sidecar rebuilt" can hold.
 */
export const HOLD_REBUILD_GRACE_MS = 1_500;

export function epochKey(region: string): string {
  return `atp:${region}:epoch`;
}

export function sidecarsKey(region: string): string {
  return `atp:${region}:sidecars`;
}

export interface StoreEpoch {
  id: string;
  state: EpochState;
  replid: string;
  createdMs: number;
  /** sidecar id -> epoch id its holds were rebuilt for. */
  rebuilt: Map<string, string>;
}

/** What a reader sees: the epoch (null when the hash is gone) and the server's replication id now. */
export interface EpochReading {
  epoch: StoreEpoch | null;
  replid: string;
}

/** `master_replid` of the server the client talks to ('' when INFO does not say: then not compared). */
export async function currentReplid(redis: RedisClient): Promise<string> {
  const info = String(await redis.info('replication'));
  const m = /^master_replid:([0-9a-f]+)/m.exec(info);
  return m?.[1] ?? '';
}

export async function readEpoch(redis: RedisClient, region: string): Promise<EpochReading> {
  const [raw, replid] = await Promise.all([redis.hgetall(epochKey(region)), currentReplid(redis)]);
  return { epoch: parseEpoch(raw), replid };
}

function parseEpoch(raw: Record<string, string>): StoreEpoch | null {
  const id = raw.id;
  const state = raw.state as EpochState | undefined;
  if (id === undefined || state === undefined || !EPOCH_STATES.includes(state)) return null;
  const rebuilt = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) if (k.startsWith('sc:')) rebuilt.set(k.slice(3), v);
  return { id, state, replid: raw.replid ?? '', createdMs: Number(raw.created ?? 0), rebuilt };
}

/**
 * True when the data under this epoch may be gone: no epoch hash (restart
 * without data), or a server whose replication id is not the epoch's (a
 * replica promoted, or a restart that reloaded an old copy).
 */
export function epochLost(r: EpochReading): boolean {
  if (r.epoch === null) return true;
  return r.replid !== '' && r.epoch.replid !== '' && r.epoch.replid !== r.replid;
}

/** Starts a new epoch in state `refilling` (replacing any old hash, sidecar marks included). */
export async function createEpoch(redis: RedisClient, region: string, nowMs: number): Promise<StoreEpoch> {
  const replid = await currentReplid(redis);
  const epoch: StoreEpoch = {
    id: randomBytes(12).toString('hex'),
    state: 'refilling',
    replid,
    createdMs: nowMs,
    rebuilt: new Map(),
  };
  const key = epochKey(region);
  await redis
    .multi()
    .del(key)
    .hset(key, { id: epoch.id, state: epoch.state, replid, created: String(nowMs) })
    .exec();
  return epoch;
}

/** Marks the SKUs of epoch `id` refilled; false when another epoch replaced it meanwhile. */
export async function markEpochReady(redis: RedisClient, region: string, id: string): Promise<boolean> {
  const key = epochKey(region);
  if ((await redis.hget(key, 'id')) !== id) return false;
  await redis.hset(key, 'state', 'ready');
  return true;
}

/** A sidecar says it is alive (its journal must be replayed after a loss). */
export async function registerSidecar(
  redis: RedisClient,
  region: string,
  sidecarId: string,
  nowMs: number,
): Promise<void> {
  await redis.hset(sidecarsKey(region), sidecarId, String(nowMs));
}

/** Sidecar ids seen within SIDECAR_LIVE_MS of `nowMs`. */
export async function liveSidecars(redis: RedisClient, region: string, nowMs: number): Promise<string[]> {
  const all = await redis.hgetall(sidecarsKey(region));
  return Object.entries(all)
    .filter(([, seen]) => nowMs - Number(seen) <= SIDECAR_LIVE_MS)
    .map(([id]) => id);
}

/** The sidecar rebuilt its holds for epoch `id` (ignored when the epoch changed meanwhile). */
export async function markHoldsRebuilt(
  redis: RedisClient,
  region: string,
  sidecarId: string,
  id: string,
): Promise<void> {
  const key = epochKey(region);
  if ((await redis.hget(key, 'id')) !== id) return;
  await redis.hset(key, `sc:${sidecarId}`, id);
}

/**
 * Decisions may count on holds again: the SKUs are refilled, every live
 * sidecar rebuilt its journal for this epoch, and the registration grace passed.
 */
export function epochServing(epoch: StoreEpoch, live: readonly string[], nowMs: number): boolean {
  if (epoch.state !== 'ready') return false;
  if (nowMs - epoch.createdMs < HOLD_REBUILD_GRACE_MS) return false;
  return live.every((s) => epoch.rebuilt.get(s) === epoch.id);
}

/** The ingester's side (its StoreEpochs port): watch for a loss, start epochs, mark them refilled. */
export class RedisStoreEpochs {
  constructor(
    private readonly redis: RedisClient,
    private readonly region: string,
    /** The writer whose cache of written bytes a new epoch voids (RedisFeatureStore.forgetWrites). */
    private readonly writer: { forgetWrites(): void } | null = null,
  ) {}

  async lost(): Promise<boolean> {
    return epochLost(await readEpoch(this.redis, this.region));
  }

  async begin(nowMs: number): Promise<string> {
    this.writer?.forgetWrites();
    return (await createEpoch(this.redis, this.region, nowMs)).id;
  }

  ready(id: string): Promise<boolean> {
    return markEpochReady(this.redis, this.region, id);
  }

  async refilling(): Promise<string | null> {
    const reading = await readEpoch(this.redis, this.region);
    const epoch = reading.epoch;
    return epoch === null || epoch.state !== 'refilling' || epochLost(reading) ? null : epoch.id;
  }
}
