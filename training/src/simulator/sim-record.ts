/**
 * What the simulator yields, in delivery order: the events as the system
 * receives them, the checkouts at decision time, the outcomes once every
 * candidate's pick time has passed, and (optionally) the physical truth.
 * With external routing, also each promise's order outcome when it happens.
 */
import type { Channel } from '@mercato/proto/v1/decision';
import type { InventoryEvent } from '@mercato/proto/v1/inventory-event';
import type { OutcomeStatus } from '@mercato/proto/v1/order-outcome';

/** An inventory event reaching the system at deliverAtMs (event time + transport delay, or an outage's end). */
export interface SimEventRecord {
  type: 'event';
  deliverAtMs: number;
  event: InventoryEvent;
  /**
   * True when the event waited for its node's feed outage to end (delivered
   * with the backlog, in emission order); its delay may exceed SIM_MAX_DELAY_MS.
   */
  held: boolean;
}

/**
 * A checkout at decision time. A consumer computes features from the events it
 * has seen before this record; the promise was made by naive ATP on exactly
 * that view (on_hand - reserved >= qty, nearest ETA first). Under external
 * routing (Simulator.isExternal(atMs)) it is not decided yet: promisedNode is
 * null and the decision comes through Simulator.resolveCheckout.
 */
export interface SimCheckoutRecord {
  type: 'checkout';
  atMs: number;
  checkoutId: string;
  region: string;
  buyerZone: string;
  sku: string;
  qty: number;
  channel: Extract<Channel, 'checkout'>;
  /** Nodes stocking the SKU that serve the buyer zone, by ETA (ties by node id). */
  candidates: string[];
  promisedNode: string | null;
}

export type CancelledBy = 'buyer' | 'seller';

/** The ground-truth label of a checkout, emitted after the last candidate's pick time. */
export interface SimOutcomeRecord {
  type: 'outcome';
  atMs: number;
  checkoutId: string;
  sku: string;
  qty: number;
  /** Per candidate (checkout order): physical units >= qty at that node's pick time (checkout + handlingHours). */
  feasible: boolean[];
  promisedNode: string | null;
  /** null when not promised or cancelled by the buyer before pick; false when the pick failed or the node cancelled. */
  pickSucceeded: boolean | null;
  /** Promised, picked, and the shelf had fewer than qty units: naive ATP promised stock that was not there. */
  oversold: boolean;
  /** Who cancelled the order before pick, if anyone (a node cancellation is not an oversell). */
  cancelledBy: CancelledBy | null;
  /**
   * The decision that promised it; only in a world with external routing
   * (absent from the default stream, which keeps its bytes).
   */
  decisionId?: string;
}

/**
 * What became of one promise, yielded when it happened (the pick, the short
 * pick, or a cancellation), only in a world with external routing. Converts
 * to the `order.outcome.v1` contract with toOrderOutcome.
 */
export interface SimOrderOutcomeRecord {
  type: 'order-outcome';
  /** When the outcome happened. */
  atMs: number;
  checkoutId: string;
  decisionId: string;
  region: string;
  sku: string;
  node: string;
  qty: number;
  status: OutcomeStatus;
  /** qty when fulfilled; 0 otherwise (a short pick ships nothing: the whole order is cancelled). */
  unitsPicked: number;
  promisedAtMs: number;
  /** Promise + the node's handling time: when the pick was due. */
  dueAtMs: number;
  /** Physical units minus the node's open reservations at promise time: below qty = promised beyond stock. */
  freeUnitsAtPromise: number;
}

/** Physical units of a pair after a change (only with config.emitTruth). */
export interface SimTruthRecord {
  type: 'truth';
  atMs: number;
  sku: string;
  node: string;
  physical: number;
}

export type SimRecord =
  | SimEventRecord
  | SimCheckoutRecord
  | SimOutcomeRecord
  | SimOrderOutcomeRecord
  | SimTruthRecord;
