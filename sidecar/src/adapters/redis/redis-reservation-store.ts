/**
 * Soft reservations in the regional Redis, shared by every sidecar of the
 * region (DESIGN.md §3): one script call per hold (reservation-lua.ts), all
 * keys of a SKU in its cluster slot. Confirmed orders also count against
 * sellers' daily caps (`ordersKey`), read back into a local copy by a
 * periodic refresh (platform Periodic) so the policy's cap check costs no
 * round trip.
 */

import { escrowedKey } from '@mercato/adapters/redis/escrow-keys';
import { holdInfoKey, holdsKey, ordersKey, promisedKey, skuKey } from '@mercato/adapters/redis/redis-keys';
import { Periodic } from '@mercato/platform/periodic';
import type { Redis } from 'ioredis';
import {
  CONFIRMED_HOLD_TTL_MS,
  SOFT_HOLD_TTL_MS,
  utcDayKey,
} from '../../decision/policies/reservation-policy.js';
import type { ReservationStore, ReserveOutcome, ReserveRequest } from '../../decision/ports.js';
import { HoldJournal, type JournaledHold } from './hold-journal.js';
import { CONFIRM_LUA, REBUILD_LUA, RELEASE_LUA, RESERVE_LUA, STOCK_MISSING } from './reservation-lua.js';

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
  atpRebuild(...args: (string | number)[]): Promise<number>;
};

/** What the store asks of the store-epoch guard (store-epoch-guard.ts). */
export interface HoldGate {
  /** False while Redis may have lost holds (new epoch not refilled, failover, reconnect). */
  readonly open: boolean;
  /** Something looked like a loss (a missing stock record): check the epoch now. */
  suspect(): void;
}

export interface RedisReservationOptions {
  /** Where granted holds are journaled for a rebuild after a loss (default: memory only). */
  journal?: HoldJournal;
  /**
   * Hot-SKU holds wait until this many replicas acknowledged them (Redis
   * WAIT), so a failover to one of them keeps the hold; 0 = no wait.
   */
  waitReplicas?: number;
  /** WAIT's bound in ms (inside the engine's RESERVATION_TIMEOUT_MS). */
  waitMs?: number;
}

export class RedisReservationStore implements ReservationStore {
  private readonly redis: WithScripts;
  private orders = new Map<string, number>();
  private ordersDay = '';
  private refresher: Periodic | null = null;
  private gate: HoldGate | null = null;
  /** `${sku}|${holdId}` of reserve calls awaiting their script, and those released meanwhile. */
  private readonly inFlight = new Set<string>();
  private readonly releasedInFlight = new Set<string>();
  readonly journal: HoldJournal;
  private readonly waitReplicas: number;
  private readonly waitMs: number;

  constructor(
    redis: Redis,
    private readonly region: string,
    private readonly clock: () => number = Date.now,
    /** TTL of a SKU's hold keys in Redis (wall) ms; longer than any hold in business time. */
    private readonly keyTtlMs: number = HOLD_KEY_TTL_MS,
    opts: RedisReservationOptions = {},
  ) {
    this.redis = redis as WithScripts;
    this.journal = opts.journal ?? new HoldJournal();
    this.waitReplicas = opts.waitReplicas ?? 0;
    this.waitMs = opts.waitMs ?? 0;
    if (typeof this.redis.atpReserve !== 'function') {
      redis.defineCommand('atpReserve', { numberOfKeys: 5, lua: RESERVE_LUA });
      redis.defineCommand('atpConfirm', { numberOfKeys: 5, lua: CONFIRM_LUA });
      redis.defineCommand('atpRelease', { numberOfKeys: 5, lua: RELEASE_LUA });
      redis.defineCommand('atpRebuild', { numberOfKeys: 5, lua: REBUILD_LUA });
    }
  }

  /** Holds are granted only while the gate is open (the wiring hands the store-epoch guard). */
  useGate(gate: HoldGate): void {
    this.gate = gate;
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
    this.journal.close();
  }

  /**
   * Counts only from the stock record in Redis: `req.atpHint` is never used.
   * A missing record is refused with `refusal: 'stock-missing'`.
   */
  async reserve(req: ReserveRequest): Promise<ReserveOutcome> {
    if (this.gate !== null && !this.gate.open) {
      return { ok: false, promised: 0, available: -1, refusal: 'store-not-ready' };
    }
    let answer: [number, number, number];
    const key = `${req.sku}|${req.holdId}`;
    this.inFlight.add(key);
    let releasedMeanwhile = false;
    try {
      answer = await this.redis.atpReserve(
        ...this.keys(req.sku),
        req.nodeId,
        req.qty,
        req.holdId,
        req.nowMs,
        req.ttlMs,
        this.keyTtlMs,
      );
    } catch (err) {
      // A dropped connection may be a failover to a server without our holds: with an armed
      // epoch that is a refusal (no wide-margin promise), and the epoch is checked at once.
      if (this.gate === null || !isConnectionLoss(err)) throw err;
      this.gate.suspect();
      if (!this.gate.open) return { ok: false, promised: 0, available: -1, refusal: 'store-not-ready' };
      throw err;
    } finally {
      this.inFlight.delete(key);
      // Released while the script ran (the engine gave up waiting): the hold is gone, not journaled.
      releasedMeanwhile = this.releasedInFlight.delete(key);
    }
    const [granted, promised, available] = answer;
    if (granted === STOCK_MISSING) {
      this.gate?.suspect();
      return { ok: false, promised, available: -1, refusal: 'stock-missing' };
    }
    if (granted !== 1) return { ok: false, promised, available };
    if (available >= 0 && !releasedMeanwhile) {
      // available -1: the hold existed already (a repeated call), journaled then.
      this.journal.hold({
        sku: req.sku,
        nodeId: req.nodeId,
        qty: req.qty,
        holdId: req.holdId,
        expiresAtMs: req.nowMs + req.ttlMs,
      });
    }
    if (req.hot === true && this.waitReplicas > 0) {
      // A WAIT that times out on the client side counts as not acknowledged.
      const acked = Number(await this.redis.wait(this.waitReplicas, this.waitMs).catch(() => 0));
      if (acked < this.waitReplicas) {
        // Not on enough replicas: a failover now would lose it. Refused, like a store not ready.
        await this.release(req.sku, req.holdId).catch(() => undefined);
        return { ok: false, promised: promised - req.qty, available: -1, refusal: 'store-not-ready' };
      }
    }
    return { ok: true, promised, available };
  }

  /** Writes journaled holds back (after a loss); holds already present are left as they are. */
  async rebuild(holds: readonly JournaledHold[]): Promise<void> {
    await Promise.all(
      holds.map((h) =>
        this.redis.atpRebuild(...this.keys(h.sku), h.nodeId, h.qty, h.holdId, h.expiresAtMs, this.keyTtlMs),
      ),
    );
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
    this.journal.confirm(sku, holdId, nowMs + CONFIRMED_HOLD_TTL_MS);
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
    const key = `${sku}|${holdId}`;
    if (this.inFlight.has(key)) this.releasedInFlight.add(key);
    this.journal.release(sku, holdId);
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

  private keys(sku: string): [string, string, string, string, string] {
    const r = this.region;
    return [skuKey(r, sku), holdsKey(r, sku), holdInfoKey(r, sku), promisedKey(r, sku), escrowedKey(r, sku)];
  }
}

/** ioredis' errors when the connection is gone (not a command timeout: the server may just be slow). */
function isConnectionLoss(err: unknown): boolean {
  const m = err instanceof Error ? err.message : '';
  return /Connection is closed|Stream isn't writeable|ECONNRESET|ECONNREFUSED|EPIPE/.test(m);
}
