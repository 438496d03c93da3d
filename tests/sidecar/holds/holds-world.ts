/**
 * A region for the Redis-loss tests: a real Redis (behind whatever URL the
 * test gives), the inventory log (the in-process MemoryEventLog the embedded
 * system runs on) read by the REAL ingest domain writing the Redis feature
 * store and keeping its store epoch, and N sidecars with their own Redis
 * clients, store-epoch guards and hold journals. Buyers check out one unit
 * of one SKU; the world counts what was promised.
 */
import { MemoryEventLog } from '../../../adapters/src/memory/memory-event-log.js';
import { connectRedis, type RedisClient } from '../../../adapters/src/redis/redis-client.js';
import { RedisFeatureStore } from '../../../adapters/src/redis/redis-feature-store.js';
import { promisedKey } from '../../../adapters/src/redis/redis-keys.js';
import { epochLost, RedisStoreEpochs, readEpoch } from '../../../adapters/src/redis/redis-store-epoch.js';
import { RedisIngestStateStore } from '../../../adapters/src/redis/redis-stream-health.js';
import { type EmbeddedIngest, startEmbeddedIngest } from '../../../ingest/src/embedded-ingest.js';
import type { CheckResponse } from '../../../proto/v1/decision.js';
import { encodeEvent, eventKey, type InventoryEvent } from '../../../proto/v1/inventory-event.js';
import { mutationsTopic } from '../../../proto/v1/topics.js';
import { connectRedisStores, type RedisStores } from '../../../sidecar/src/redis-wiring.js';
import { createSidecar, type Sidecar } from '../../../sidecar/src/sidecar.js';
import { ev } from '../../helpers/events.js';
import { publishTestDirectory } from '../../helpers/redis-world.js';
import { checkout } from '../../helpers/sidecar-world.js';
import { TINY_NODES } from '../../helpers/tiny-world.js';

export const REGION = 'eu-west';
export const NODE = 'WH-1';
/** Generous: concurrent checkouts on two loaded cores. */
const DEADLINE_MS = 3_000;

export interface HoldsWorld {
  log: MemoryEventLog;
  ingest: EmbeddedIngest;
  sidecars: { sc: Sidecar; stores: RedisStores }[];
  /** One checkout of `sku` through sidecar `i % n`. */
  buy(sku: string, i: number, id: string): Promise<CheckResponse>;
  /** Units Redis counts as promised on (sku, NODE), read with a patient client. */
  promisedUnits(sku: string): Promise<number>;
  /** The store epoch in Redis is ready (refilled) and not lost. */
  epochReady(): Promise<boolean>;
  /** Publishes the directory again (what the batch job's next run does after a loss). */
  republishDirectory(): Promise<void>;
  stop(): Promise<void>;
}

export interface HoldsWorldOptions {
  url: string;
  stock: { sku: string; units: number }[];
  sidecars?: number;
  /** false: sidecars without the store-epoch guard (the behaviour before issue 16). */
  epochGuard?: boolean;
}

export async function startHoldsWorld(opts: HoldsWorldOptions): Promise<HoldsWorld> {
  const admin = await connectRedis(opts.url, 'write');
  const publish = () => publishTestDirectory(admin, REGION, TINY_NODES).then(() => undefined);
  await publish();
  const log = new MemoryEventLog();
  const topic = mutationsTopic(REGION);
  log.createTopic(topic, 2);
  const now = Date.now();
  const events: InventoryEvent[] = TINY_NODES.map((n) =>
    ev('heartbeat', 0, 1, { node: n.nodeId, atMs: now - 1_000 }),
  );
  for (const s of opts.stock)
    events.push(ev('receipt', s.units, 1, { sku: s.sku, node: NODE, atMs: now - 2_000 }));
  await log.send(
    topic,
    events.map((e) => ({ key: eventKey(e), value: encodeEvent(e) })),
  );
  const ingestRedis: RedisClient = await connectRedis(opts.url, 'write');
  const featureSink = new RedisFeatureStore(ingestRedis, REGION);
  const ingest = await startEmbeddedIngest({
    region: REGION,
    log,
    featureSink,
    stateStore: new RedisIngestStateStore(ingestRedis, REGION),
    epochs: new RedisStoreEpochs(ingestRedis, REGION, featureSink),
    lagReportIntervalMs: 200,
  });
  const sidecars: HoldsWorld['sidecars'] = [];
  for (let i = 0; i < (opts.sidecars ?? 2); i++) {
    const stores = await connectRedisStores(opts.url, REGION, { sidecarId: `sc-${i}` });
    if (opts.epochGuard === false) {
      // As before issue 16: no epoch watch, no journal replay, holds granted whatever happened.
      await stores.epochGuard.stop();
      stores.reservations.useGate({ open: true, suspect: () => undefined });
    }
    const sc = createSidecar({
      region: REGION,
      defaultMetrics: false,
      featureReader: stores.featureReader,
      nodeDirectory: stores.nodeDirectory,
      reservations: stores.reservations,
      closers: stores.closers,
    });
    sidecars.push({ sc, stores });
  }
  return {
    log,
    ingest,
    sidecars,
    buy: (sku, i, id) =>
      sidecars[i % sidecars.length]!.sc.engine.check(checkout(sku, 1, id, 'Z0-0'), {
        deadlineAt: performance.now() + DEADLINE_MS,
      }),
    promisedUnits: (sku) =>
      patiently(async () => Number((await admin.hget(promisedKey(REGION, sku), NODE)) ?? 0)),
    epochReady: async () => {
      const r = await readEpoch(admin, REGION).catch(() => null);
      return r !== null && !epochLost(r) && r.epoch?.state === 'ready';
    },
    republishDirectory: () => patiently(publish),
    async stop() {
      for (const s of sidecars) await s.sc.stop();
      await ingest.stop().catch(() => undefined);
      ingestRedis.disconnect();
      admin.disconnect();
    },
  };
}

/** Counts of a wave of answers: promised (allow), flagged `redis`, degraded at all. */
export function tally(answers: readonly CheckResponse[]): {
  promised: number;
  flagged: number;
  /** Answers that name any degradation (a lost store also makes nodes look stale). */
  degraded: number;
  kinds: string;
} {
  const kinds = new Map<string, number>();
  for (const a of answers) {
    const k = `${a.decision}/${a.items[0]?.reasons.join('+')}/${a.degradations.join('+') || '-'}`;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  return {
    promised: answers.filter((a) => a.decision === 'allow').length,
    flagged: answers.filter((a) => a.degradations.includes('redis')).length,
    degraded: answers.filter((a) => a.degradations.length > 0).length,
    kinds: [...kinds].map(([k, n]) => `${n}x ${k}`).join(', '),
  };
}

/** Every sidecar's guard says holds count again. */
export function allServing(world: HoldsWorld): boolean {
  return world.sidecars.every((s) => s.stores.epochGuard.state === 'serving');
}

/** Buyers per wave while the store is lost or refilling, and the gap between waves. */
const WAVE = 8;
const WAVE_GAP_MS = 100;
/** Waves at least (the loss is noticed asynchronously), and the bound on waiting for the refill. */
const MIN_WAVES = 3;
const SETTLE_TIMEOUT_MS = 30_000;
const SETTLE_RECHECK_MS = 600;
/** Waves of buyers after the region settled, at most (the sale sells out well before). */
const AFTER_MAX_WAVES = 10;

export interface SaleAfterLoss {
  during: CheckResponse[];
  after: CheckResponse[];
  /** Units Redis counted as promised once the region settled, before the next buyers. */
  countedWhenSettled: number;
}

/**
 * Buyers keep coming in waves after a loss until the region settles (with
 * the guard: every sidecar serving again; without: the ingester's epoch is
 * ready, i.e. the stock is refilled), then waves of `buyersAfter` until sold out.
 */
export async function saleAfterLoss(
  world: HoldsWorld,
  sku: string,
  epochGuard: boolean,
  buyersAfter: number,
): Promise<SaleAfterLoss> {
  const during: CheckResponse[] = [];
  const once = async () => (epochGuard ? allServing(world) : world.epochReady());
  // Settled twice, SETTLE_RECHECK_MS apart: a client reconnecting late closes the gate again briefly.
  const settled = async () =>
    (await once()) && (await new Promise((r) => setTimeout(r, SETTLE_RECHECK_MS))) === undefined && once();
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (let w = 0; w < MIN_WAVES || !(await settled()); w++) {
    if (Date.now() > deadline) throw new Error(`the region did not settle within ${SETTLE_TIMEOUT_MS} ms`);
    const wave = Array.from({ length: WAVE }, (_, i) => world.buy(sku, i, `during-${w}-${i}`));
    during.push(...(await Promise.all(wave)));
    await new Promise((r) => setTimeout(r, WAVE_GAP_MS));
  }
  const countedWhenSettled = await world.promisedUnits(sku);
  // Then buyers until a wave sells nothing and is refused for want of units (not a slow store:
  // under load a reservation call can time out, a deny flagged redis).
  const after: CheckResponse[] = [];
  for (let w = 0; w < AFTER_MAX_WAVES; w++) {
    const wave = await Promise.all(
      Array.from({ length: buyersAfter }, (_, i) => world.buy(sku, i, `after-${w}-${i}`)),
    );
    after.push(...wave);
    if (wave.every((a) => a.decision === 'deny') && wave.some((a) => a.degradations.length === 0)) break;
  }
  return { during, after, countedWhenSettled };
}

/** Retries `op` for up to 5 s: the admin client reconnects on its own after a restart or failover. */
async function patiently<T>(op: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await op();
    } catch (err) {
      if (i >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
