/**
 * In-memory soft reservations for one process (the embedded default). Same
 * semantics as the Redis script: a hold is granted only while available -
 * promised >= qty, counts until released or expired, and a confirmed hold is
 * kept CONFIRMED_HOLD_TTL_MS more so the order's own reservation event can
 * reach the feature store before the units look free again.
 */

import {
  CONFIRMED_HOLD_TTL_MS,
  MAX_MEMORY_HOLDS,
  utcDayKey,
} from '../../decision/policies/reservation-policy.js';
import type { ReservationStore, ReserveOutcome, ReserveRequest } from '../../decision/ports.js';

interface Hold {
  key: string;
  nodeId: string;
  qty: number;
  expiresAtMs: number;
}

export class MemoryReservationStore implements ReservationStore {
  /** `${sku}|${node}` -> promised units. */
  private readonly promised = new Map<string, number>();
  /** `${sku}|${holdId}` -> hold. */
  private readonly holds = new Map<string, Hold>();
  /** Expiry queue: hold keys in insertion order with the expiry they had then (lazy). */
  private readonly queue: { id: string; expiresAtMs: number }[] = [];
  private queueHead = 0;
  private readonly orders = new Map<string, number>();
  private ordersDay = '';

  constructor(private readonly maxHolds = MAX_MEMORY_HOLDS) {}

  async reserve(req: ReserveRequest): Promise<ReserveOutcome> {
    return this.reserveSync(req);
  }

  reserveSync(req: ReserveRequest): ReserveOutcome {
    this.expire(req.nowMs);
    const key = `${req.sku}|${req.nodeId}`;
    const promised = this.promised.get(key) ?? 0;
    const id = `${req.sku}|${req.holdId}`;
    const existing = this.holds.get(id);
    if (existing !== undefined) return { ok: true, promised, available: req.atpHint };
    if (req.atpHint - promised < req.qty || this.holds.size >= this.maxHolds) {
      return { ok: false, promised, available: req.atpHint };
    }
    const expiresAtMs = req.nowMs + req.ttlMs;
    this.holds.set(id, { key, nodeId: req.nodeId, qty: req.qty, expiresAtMs });
    this.queue.push({ id, expiresAtMs });
    this.promised.set(key, promised + req.qty);
    return { ok: true, promised: promised + req.qty, available: req.atpHint };
  }

  async confirm(sku: string, holdId: string, nowMs: number): Promise<boolean> {
    this.expire(nowMs);
    const id = `${sku}|${holdId}`;
    const h = this.holds.get(id);
    if (h === undefined) return false;
    h.expiresAtMs = nowMs + CONFIRMED_HOLD_TTL_MS;
    this.queue.push({ id, expiresAtMs: h.expiresAtMs });
    this.countOrder(h.nodeId, nowMs);
    return true;
  }

  async release(sku: string, holdId: string): Promise<boolean> {
    return this.drop(`${sku}|${holdId}`);
  }

  ordersToday(nodeId: string, nowMs: number): number {
    return this.ordersDay === utcDayKey(nowMs) ? (this.orders.get(nodeId) ?? 0) : 0;
  }

  /** Live holds (tests). */
  get size(): number {
    return this.holds.size;
  }

  promisedUnits(sku: string, nodeId: string): number {
    return this.promised.get(`${sku}|${nodeId}`) ?? 0;
  }

  private countOrder(nodeId: string, nowMs: number): void {
    const day = utcDayKey(nowMs);
    if (day !== this.ordersDay) {
      this.orders.clear();
      this.ordersDay = day;
    }
    this.orders.set(nodeId, (this.orders.get(nodeId) ?? 0) + 1);
  }

  private drop(id: string): boolean {
    const h = this.holds.get(id);
    if (h === undefined) return false;
    this.holds.delete(id);
    const left = (this.promised.get(h.key) ?? 0) - h.qty;
    if (left > 0) this.promised.set(h.key, left);
    else this.promised.delete(h.key);
    return true;
  }

  /** Drops holds whose expiry passed. Queue entries whose hold was extended or dropped are skipped. */
  private expire(nowMs: number): void {
    const q = this.queue;
    while (this.queueHead < q.length && q[this.queueHead]!.expiresAtMs <= nowMs) {
      const { id, expiresAtMs } = q[this.queueHead++]!;
      const h = this.holds.get(id);
      if (h !== undefined && h.expiresAtMs === expiresAtMs) this.drop(id);
    }
    // Compact once the consumed prefix dominates, so the queue stays bounded by live holds.
    if (this.queueHead > 1024 && this.queueHead * 2 > q.length) {
      q.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }
}
