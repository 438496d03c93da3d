/**
 * What the simulator's event queue holds: one scheduled item per pending
 * action of a process (an arrival, a pick time, a receipt, a delivery...),
 * and the payloads some of them carry (an open checkout, a flash sale, an
 * event in transit). Plain numbers and flat records: the hot loop switches
 * on `kind` and allocates one small object per item.
 */
import type { InventoryEvent } from '@mercato/proto/v1/inventory-event';
import type { Scheduled } from './event-queue.js';

/** Deliveries run before world actions due at the same ms: a checkout at t sees events delivered at t. */
export const RANK_DELIVER = 0;
export const RANK_ACTION = 1;

/** Item kinds, grouped by the process that handles them. */
export const ITEM = {
  // feeds
  DELIVER: 0,
  HEARTBEAT: 10,
  OUTAGE_START: 11,
  OUTAGE_END: 12,
  // supply
  BOOT: 1,
  RECEIPT: 9,
  SHRINK: 15,
  ADJUST: 16,
  ROUTINE_COUNT: 17,
  TRIGGERED_COUNT: 18,
  SYNC: 19,
  // demand
  ARRIVAL: 2,
  FLASH_START: 3,
  FLASH_ARRIVAL: 4,
  LOCAL_SALE: 13,
  LATE_REPORT: 14,
  // fulfilment
  PROBE: 5,
  BUYER_CANCEL: 6,
  NODE_CANCEL: 7,
  RETURN: 8,
  // external routing
  RESOLVE: 20,
  RESOLVE_TIMEOUT: 21,
  // scenario hooks (scheduled only by Simulator.forceFlashSale / forceOutage)
  FORCED_FLASH_START: 22,
  FORCED_OUTAGE_START: 23,
  FORCED_OUTAGE_END: 24,
} as const;

export interface SimItem extends Scheduled {
  kind: number;
  /** Pair, node or SKU index, by kind. */
  i: number;
  /** Units (returns, late reports); for deliveries 1 = held by an outage. */
  q: number;
  /**
   * A late report counts only if no cycle count of its pair happened since
   * (the pair's count epoch); a forced outage's start carries its end (ms).
   */
  epoch: number;
  ref: InventoryEvent | CheckoutOrder | FlashSale | null;
}

/** A running flash sale: an extra Poisson stream of checkouts for one hot SKU. */
export interface FlashSale {
  sku: number;
  untilMs: number;
  /** Extra checkouts per hour on top of the base demand: base rate x (multiplier - 1). */
  extraPerH: number;
  /**
   * A scenario's sale (Simulator.forceFlashSale): it runs beside the random
   * ones and never marks or clears the SKU's "on flash" flag. Absent on
   * random sales, so their objects keep their shape.
   */
  forced?: true;
}

/** Candidates of one (sku, buyer zone), cached: the world is static. */
export interface CandidateList {
  /** Pair indices, nearest ETA first (ties by node id). */
  pairs: Int32Array;
  nodeIds: string[];
}

/** Order states of a checkout between its decision and its outcome. */
export const ORDER = {
  /** Routed externally and not answered yet: no effect on the world so far. */
  PENDING: 5,
  ACTIVE: 0,
  BUYER_CANCELLED: 1,
  NODE_CANCELLED: 2,
  PICKED: 3,
  PICK_FAILED: 4,
} as const;

/** A checkout from its decision until every candidate's pick time has passed. */
export interface CheckoutOrder {
  id: string;
  sku: number;
  qty: number;
  /** Decision time: the checkout's own time, or when an external answer applied (pick times count from it). */
  atMs: number;
  cands: CandidateList;
  /** Candidates whose pick time has not come yet; the outcome is due when it reaches 0. */
  remaining: number;
  feasible: boolean[];
  /** Position of the promised candidate, -1 when not promised. */
  promised: number;
  /** One of ORDER. */
  status: number;
  /**
   * The decision that promised it, when the world reports order outcomes
   * (external routing); null otherwise, and then no order outcome is yielded.
   */
  decisionId: string | null;
  /** Physical units minus the node's open reservations when promised (ground truth of "beyond stock"). */
  freeUnitsAtPromise: number;
}
