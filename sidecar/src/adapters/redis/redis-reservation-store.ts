/**
 * Soft reservations in the regional Redis, shared by every sidecar of the
 * region (DESIGN.md §3): one script call per hold (reservation-lua.ts), all
 * keys of a SKU in its cluster slot. Confirmed orders also count against
 * sellers' daily caps (`ordersKey`), read back into a local copy by a
 * periodic refresh (platform Periodic) so the policy's cap check costs no
 * round trip.
 */

import { holdInfoKey, holdsKey, ordersKey, promisedKey, skuKey } from '@mercato/adapters/redis/redis-keys';
import { Periodic } from '@mercato/platform/periodic';
import type { Redis } from 'ioredis';
import {
  CONFIRMED_HOLD_TTL_MS,
  SOFT_HOLD_TTL_MS,
  utcDayKey,
} from '../../decision/policies/reservation-policy.js';
import type { ReservationStore, ReserveOutcome, ReserveRequest } from '../../decision/ports.js';
import { CONFIRM_LUA, RELEASE_LUA, RESERVE_LUA, STOCK_MISSING } from './reservation-lua.js';

/** Hold keys outlive their longest hold by this much, then Redis drops them (idle SKUs leave nothing). */
export const HOLD_KEY_GRACE_MS = 60_000;
export const HOLD_KEY_TTL_MS = Math.max(SOFT_HOLD_TTL_MS, CONFIRMED_HOLD_TTL_MS) + HOLD_KEY_GRACE_MS;
/** Order counters live two days (today and the tail of yesterday's requests). */
export const ORDERS_KEY_TTL_S = 2 * 86_400;
export const ORDERS_REFRESH_MS = 5_000;
/** Command timeout of the reservation client: inside the engine's RESERVATION_TIMEOUT_MS. */
export const RESERVATION_COMMAND_TIMEOUT_MS = 8;

type WithScripts = Redis & {
  atpReserve(...args: (string | number)[]): Promise<[number, number, number]>;
  atpConfirm(...args: (string | number)[]): Promise<string | null>;
  atpRelease(...args: (string | number)[]): Promise<number>;
};

export class RedisReservationStore implements ReservationStore {
  private readonly redis: WithScripts;
  private orders = new Map<string, number>();
  private ordersDay = '';
  private refresher: Periodic | null = null;

  constructor(
    redis: Redis,
    private readonly region: string,
    private readonly clock: () => number = Date.now,
    /** TTL of a SKU's hold keys in Redis (wall) ms; longer than any hold in business time. */
    private readonly keyTtlMs: number = HOLD_KEY_TTL_MS,
  ) {
    this.redis = redis as WithScripts;
    if (typeof this.redis.atpReserve !== 'function') {
      redis.defineCommand('atpReserve', { numberOfKeys: 4, lua: RESERVE_LUA });
      redis.defineCommand('atpConfirm', { numberOfKeys: 4, lua: CONFIRM_LUA });
      redis.defineCommand('atpRelease', { numberOfKeys: 4, lua: RELEASE_LUA });
    }
  }

  /** Reads today's order counts once (a failure leaves them at 0), then every `refreshMs`. Idempotent. */
  async start(refreshMs = ORDERS_REFRESH_MS): Promise<void> {
    if (this.refresher !== null) return;
    // A failed refresh keeps the last counts; the next period retries.
    this.refresher = new Periodic({
      name: 'orders-refresh',
      intervalMs: refreshMs,
      run: () => this.refreshOrders(),
    });
    await this.refreshOrders().catch(() => undefined);
    await this.refresher.start();
  }

  async stop(): Promise<void> {
    const refresher = this.refresher;
    this.refresher = null;
    await refresher?.stop();
  }

  /**
   * Counts only from the stock record in Redis: `req.atpHint` is never used.
   * A missing record is refused with `refusal: 'stock-missing'`.
   */
  async reserve(req: ReserveRequest): Promise<ReserveOutcome> {
    const [granted, promised, available] = await this.redis.atpReserve(
      ...this.keys(req.sku),
      req.nodeId,
      req.qty,
      req.holdId,
      req.nowMs,
      req.ttlMs,
      this.keyTtlMs,
    );
    if (granted === STOCK_MISSING) return { ok: false, promised, available: -1, refusal: 'stock-missing' };
    return { ok: granted === 1, promised, available };
  }

  async confirm(sku: string, holdId: string, nowMs: number): Promise<boolean> {
    const node = await this.redis.atpConfirm(
      ...this.keys(sku),
      holdId,
      nowMs,
      CONFIRMED_HOLD_TTL_MS,
      this.keyTtlMs,
    );
    if (node === null) return false;
    const day = utcDayKey(nowMs);
    const key = ordersKey(this.region, day);
    const count = await this.redis.hincrby(key, node, 1);
    await this.redis.expire(key, ORDERS_KEY_TTL_S);
    if (day !== this.ordersDay) {
      this.orders = new Map();
      this.ordersDay = day;
    }
    this.orders.set(node, count);
    return true;
  }

  async release(sku: string, holdId: string): Promise<boolean> {
    return (await this.redis.atpRelease(...this.keys(sku), holdId)) === 1;
  }

  ordersToday(nodeId: string, nowMs: number): number {
    return this.ordersDay === utcDayKey(nowMs) ? (this.orders.get(nodeId) ?? 0) : 0;
  }

  /** Units promised by live holds on (sku,node) (tests and tools). */
  async promisedUnits(sku: string, nodeId: string): Promise<number> {
    return Number((await this.redis.hget(promisedKey(this.region, sku), nodeId)) ?? 0);
  }

  async refreshOrders(): Promise<void> {
    const day = utcDayKey(this.clock());
    const all = await this.redis.hgetall(ordersKey(this.region, day));
    const next = new Map<string, number>();
    for (const [node, v] of Object.entries(all)) next.set(node, Number(v));
    this.orders = next;
    this.ordersDay = day;
  }

  private keys(sku: string): [string, string, string, string] {
    const r = this.region;
    return [skuKey(r, sku), holdsKey(r, sku), holdInfoKey(r, sku), promisedKey(r, sku)];
  }
}
