/**
 * Supply: how stock reaches the shelves and how the records drift from
 * them. Initial stock is received at boot; a node reorders when its own idea
 * of the position falls to the reorder point, and the receipt may be
 * mis-scanned; shrink takes units nobody records; write-offs and found units
 * are recorded as adjustments; cycle counts (routine, after a failed pick,
 * or a seller's full sync) put the shelf back on record.
 */
import type { FeedProcess } from './feed-process.js';
import { ITEM } from './sim-item.js';
import { MS_PER_H, MS_PER_MIN, type SimKernel } from './sim-kernel.js';
import type { StockLedger } from './stock-ledger.js';

/** Initial stock is received over this window; demand processes start after it. */
export const BOOT_WINDOW_MS = 60_000;
/** Adjustments: most are damaged-goods write-offs of 1..2 units, the rest found units (+1). */
const ADJUSTMENT_WRITE_OFF_SHARE = 0.8;
const WRITE_OFF_MAX_UNITS = 2;
/** A receipt scan error misstates the quantity by 1..this many units. */
const SCAN_ERROR_MAX_UNITS = 2;
/** Seller syncs come every syncIntervalH times a factor in this range (they are not clockwork). */
const SYNC_JITTER: readonly [number, number] = [0.8, 1.2];

export class SupplyProcess {
  /** Per pair: units on order (0 = none), cycle counts so far, whether a triggered count is due. */
  readonly onOrder: Int32Array;
  readonly countEpoch: Int32Array;
  private readonly countScheduled: Uint8Array;

  constructor(
    private readonly k: SimKernel,
    private readonly ledger: StockLedger,
    private readonly feeds: FeedProcess,
  ) {
    const P = k.world.pairs.length;
    this.onOrder = new Int32Array(P);
    this.countEpoch = new Int32Array(P);
    this.countScheduled = new Uint8Array(P);
  }

  /** Schedules the boot receipts: one pair per item, from the start of the run. */
  start(): void {
    if (this.k.world.pairs.length > 0) this.k.at(this.k.config.startTimeMs, ITEM.BOOT, 0);
  }

  /** First shrink, adjustment, routine count and sync of node j (a node stocking something). */
  startNode(j: number): void {
    const k = this.k;
    const b = k.config.nodes[k.index.nodes[j]!.nodeType];
    const tr = k.world.traits[j]!;
    const pairs = k.index.nodePairs[j]!.length;
    k.atPoisson(tr.shrinkUnitsPerHour, ITEM.SHRINK, j);
    k.atPoisson(tr.adjustmentsPerHour, ITEM.ADJUST, j);
    if (b.countIntervalH > 0) k.atPoisson(pairs / b.countIntervalH, ITEM.ROUTINE_COUNT, j);
    if (b.syncIntervalH > 0) {
      k.at(k.nowMs + Math.round(k.rng.uniform(0, b.syncIntervalH) * MS_PER_H), ITEM.SYNC, j);
    }
  }

  /** Initial stock of pair p, spread over BOOT_WINDOW_MS so the stream starts as a trickle. */
  boot(p: number): void {
    const k = this.k;
    const pair = k.world.pairs[p]!;
    this.ledger.set(p, pair.initialUnits);
    this.feeds.emit(p, 'receipt', pair.initialUnits);
    const next = p + 1;
    if (next < k.world.pairs.length) {
      const t = k.config.startTimeMs + Math.floor((next * BOOT_WINDOW_MS) / k.world.pairs.length);
      k.at(t, ITEM.BOOT, next);
    }
  }

  /** Called after every change of pair p: the node reorders when its own idea of the position falls to the reorder point. */
  replenishCheck(p: number): void {
    const k = this.k;
    if (this.onOrder[p]! > 0 || k.draining) return;
    const j = k.index.pairNode[p]!;
    const node = k.index.nodes[j]!;
    // Sellers know their own shelf; first-party nodes trust their records (phantom stock delays reorders).
    const onHand = node.nodeType === 'seller' ? this.ledger.physical[p]! : this.ledger.emOnHand[p]!;
    const position = onHand - this.ledger.emReserved[p]!;
    const pair = k.world.pairs[p]!;
    if (position > pair.reorderPoint) return;
    this.onOrder[p] = Math.max(1, pair.orderUpTo - position);
    const lead = k.world.traits[j]!.leadTimeH;
    k.at(k.nowMs + Math.round(k.rng.uniform(lead[0], lead[1]) * MS_PER_H), ITEM.RECEIPT, p);
  }

  receipt(p: number): void {
    const k = this.k;
    const arrived = this.onOrder[p]!;
    this.onOrder[p] = 0;
    this.ledger.move(p, arrived);
    let recorded = arrived;
    if (k.rng.chance(k.world.traits[k.index.pairNode[p]!]!.receiptScanErrorRate)) {
      const off = k.rng.int(1, SCAN_ERROR_MAX_UNITS);
      recorded = k.rng.chance(0.5) ? arrived + off : Math.max(1, arrived - off);
    }
    this.feeds.emit(p, 'receipt', recorded);
    this.replenishCheck(p);
  }

  /** An unrecorded loss (theft, breakage nobody scanned) at node j. */
  shrink(j: number): void {
    const k = this.k;
    const p = k.index.pickPairAt(j, k.rng);
    if (this.ledger.physical[p]! > 0) {
      this.ledger.move(p, -1);
      this.replenishCheck(p);
    }
    k.atPoisson(k.world.traits[j]!.shrinkUnitsPerHour, ITEM.SHRINK, j);
  }

  /** A recorded write-off or found unit at node j. */
  adjust(j: number): void {
    const k = this.k;
    const p = k.index.pickPairAt(j, k.rng);
    if (k.rng.chance(ADJUSTMENT_WRITE_OFF_SHARE)) {
      const n = Math.min(this.ledger.physical[p]!, k.rng.int(1, WRITE_OFF_MAX_UNITS));
      if (n > 0) {
        this.ledger.move(p, -n);
        this.feeds.emit(p, 'adjustment', -n);
      }
    } else {
      this.ledger.move(p, 1);
      this.feeds.emit(p, 'adjustment', 1);
    }
    this.replenishCheck(p);
    k.atPoisson(k.world.traits[j]!.adjustmentsPerHour, ITEM.ADJUST, j);
  }

  /** A routine cycle count of one pair of node j, drawn uniformly. */
  routineCount(j: number): void {
    const k = this.k;
    const pairs = k.index.nodePairs[j]!;
    this.count(pairs[k.rng.int(0, pairs.length - 1)]!);
    const b = k.config.nodes[k.index.nodes[j]!.nodeType];
    k.atPoisson(pairs.length / b.countIntervalH, ITEM.ROUTINE_COUNT, j);
  }

  /** The picker found pair p's shelf short: someone counts it soon (one pending count per pair). */
  requestCount(p: number): void {
    if (this.countScheduled[p] !== 0) return;
    const k = this.k;
    this.countScheduled[p] = 1;
    const m = k.config.failedPickCountMinutes;
    k.at(k.nowMs + Math.round(k.rng.uniform(m[0], m[1]) * MS_PER_MIN), ITEM.TRIGGERED_COUNT, p);
  }

  triggeredCount(p: number): void {
    this.countScheduled[p] = 0;
    this.count(p);
  }

  /** A seller's full inventory sync: every pair of node j counted at once. */
  sync(j: number): void {
    const k = this.k;
    for (const p of k.index.nodePairs[j]!) this.count(p);
    const h = k.config.nodes[k.index.nodes[j]!.nodeType].syncIntervalH;
    k.at(k.nowMs + Math.round(h * k.rng.uniform(SYNC_JITTER[0], SYNC_JITTER[1]) * MS_PER_H), ITEM.SYNC, j);
  }

  /** A cycle count puts the shelf on record: the absolute physical units. */
  private count(p: number): void {
    this.countEpoch[p]! += 1;
    this.feeds.emit(p, 'cycle-count', this.ledger.physical[p]!);
    this.replenishCheck(p);
  }
}
