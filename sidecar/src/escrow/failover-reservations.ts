/**
 * The order service's confirm / release callbacks (HTTP edge) on a sidecar
 * that fails over for neighbours: a decision id that is not one of this
 * region's holds may be a failover promise taken from an escrow budget.
 * Releasing it puts its units back into that budget (a cancelled failover
 * checkout does not strand them until reconcile); confirming it keeps them
 * used (reconcile hands them to the origin as held units).
 */
import type { ReservationStore, ReserveOutcome, ReserveRequest } from '../decision/ports.js';
import type { EscrowBudgets } from './escrow-budgets.js';

export class FailoverReservations implements ReservationStore {
  constructor(
    private readonly own: ReservationStore,
    private readonly origins: readonly string[],
    private readonly budgets: EscrowBudgets,
  ) {}

  reserve(req: ReserveRequest): Promise<ReserveOutcome> {
    return this.own.reserve(req);
  }

  async confirm(sku: string, holdId: string, nowMs: number): Promise<boolean> {
    if (await this.own.confirm(sku, holdId, nowMs)) return true;
    for (const origin of this.origins) if (await this.budgets.holds(origin, sku, holdId)) return true;
    return false;
  }

  async release(sku: string, holdId: string): Promise<boolean> {
    if (await this.own.release(sku, holdId)) return true;
    for (const origin of this.origins) if (await this.budgets.giveBack(origin, sku, holdId)) return true;
    return false;
  }

  ordersToday(nodeId: string, nowMs: number): number {
    return this.own.ordersToday(nodeId, nowMs);
  }
}
