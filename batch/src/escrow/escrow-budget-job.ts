/**
 * The budget service (`atp-batch escrow budget`): tops up the failover
 * budget a holder region Y keeps for an origin region X, per selected SKU
 * and per node of X holding it, to `share` of the pool (X's free units plus
 * Y's budget left), out of X's promisable stock. Runs once or on a schedule
 * (`--every-s`): replenishment is asynchronous, never on a checkout's path.
 * Each run first finishes every move a crashed run left pending, so a
 * restart is always safe (escrow-ledger.ts).
 */
import { randomBytes } from 'node:crypto';
import type { EscrowLedger, PendingMove } from './escrow-ledger.js';

/** Largest share of a pool a holder may keep: the origin keeps at least half of its stock. */
export const MAX_ESCROW_SHARE = 0.5;
/** Default share: a fifth of the pool, enough for minutes of a neighbour's hot-SKU checkouts. */
export const DEFAULT_ESCROW_SHARE = 0.2;

export interface EscrowBudgetPlan {
  skus: readonly string[];
  /** Share of each (sku,node) pool the holder's budget tops up to, in (0, MAX_ESCROW_SHARE]. */
  share: number;
}

export interface EscrowBudgetReport {
  origin: string;
  holder: string;
  /** Moves a crashed run left pending, landed (or found landed) and settled now. */
  resumed: number;
  moves: number;
  unitsMoved: number;
  /** Budget left per SKU at the holder after the run. */
  budget: Record<string, number>;
  /** Nodes skipped because the origin's directory does not know their type. */
  untypedNodes: number;
}

export function newMoveId(): string {
  return `m-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

/** `nodeTypeOf`: the origin directory's type of a node, undefined when unknown (such a node is not escrowed). */
export async function runEscrowBudgetJob(
  ledger: EscrowLedger,
  plan: EscrowBudgetPlan,
  nodeTypeOf: (nodeId: string) => string | undefined,
  moveId: () => string = newMoveId,
): Promise<EscrowBudgetReport> {
  const report: EscrowBudgetReport = {
    origin: ledger.origin,
    holder: ledger.holder,
    resumed: 0,
    moves: 0,
    unitsMoved: 0,
    budget: {},
    untypedNodes: 0,
  };
  for (const m of await ledger.pendingMoves()) {
    await finish(ledger, m);
    report.resumed++;
  }
  for (const sku of plan.skus) {
    const left = await ledger.budgetLeft(sku);
    for (const nodeId of await ledger.originNodes(sku)) {
      const nodeType = nodeTypeOf(nodeId);
      if (nodeType === undefined) {
        report.untypedNodes++;
        continue;
      }
      const id = moveId();
      const qty = await ledger.escrowOut(sku, nodeId, id, left.get(nodeId) ?? 0, plan.share, nodeType);
      if (qty <= 0) continue;
      await finish(ledger, { sku, moveId: id, holder: ledger.holder, nodeId, qty, nodeType });
      report.moves++;
      report.unitsMoved += qty;
    }
    let sum = 0;
    for (const v of (await ledger.budgetLeft(sku)).values()) sum += v;
    report.budget[sku] = sum;
  }
  return report;
}

async function finish(ledger: EscrowLedger, m: PendingMove): Promise<void> {
  await ledger.land(m);
  await ledger.settle(m);
}
