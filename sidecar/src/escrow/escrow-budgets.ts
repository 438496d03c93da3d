/**
 * The port a failover sidecar answers a failed neighbour's buyers through:
 * the budgets that neighbour escrowed into this region's Redis ahead of time
 * (batch `atp-batch escrow budget`). Implementations: RedisEscrowBudgets;
 * tests may wrap one to inject faults.
 */

/** What one SKU's budget said. `nodeType` is as the budget service recorded it (validated by the caller). */
export interface EscrowTake {
  granted: boolean;
  /** The origin's node the units were escrowed from ('' when not granted). */
  nodeId: string;
  nodeType: string;
  /** Units left in the SKU's budget after this call (all nodes). */
  leftUnits: number;
}

export interface EscrowBudgets {
  /**
   * Atomically takes `qty` units of `origin`'s budget for `sku` (one node),
   * once per `decisionId`: a repeated id reports its first grant. Rejects when
   * the store does not answer (the caller denies).
   */
  take(origin: string, sku: string, qty: number, decisionId: string): Promise<EscrowTake>;
  /** Puts a decision's units back (a basket that could not be promised whole, a release). Idempotent. */
  giveBack(origin: string, sku: string, decisionId: string): Promise<boolean>;
  /** True while `decisionId` holds units of the budget (taken, not given back, not yet drained). */
  holds(origin: string, sku: string, decisionId: string): Promise<boolean>;
  /** Read only (product pages, shadow mode): would `qty` units be granted now? Takes nothing. */
  peek(origin: string, sku: string, qty: number): Promise<EscrowTake>;
}
