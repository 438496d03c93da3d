/**
 * Reconcile on recovery (`atp-batch escrow reconcile`): once the origin X is
 * back, each SKU's budget at the holder Y is drained (Y promises nothing more
 * from it), what Y promised is applied to X as held units (X's ATP counts
 * them until its feed shows the orders), and the unused rest is returned
 * (X's escrowed-out drops). Records of an earlier run that died half way are
 * applied too; each is applied once (escrow-ledger.ts).
 */
import { randomBytes } from 'node:crypto';
import { FRESHNESS_SLO_MS } from '@mercato/features/freshness';
import { type EscrowLedger, parseDrainRecord } from './escrow-ledger.js';

/**
 * How long units the holder promised stay held in the origin: the bridge a
 * confirmed order gets until the feed shows its reservation (the sidecar's
 * CONFIRMED_HOLD_TTL_MS, two of the slowest freshness SLOs).
 */
export const RECONCILED_HOLD_TTL_MS = 2 * Math.max(...Object.values(FRESHNESS_SLO_MS));
/** Hold keys outlive their hold by this much (the sidecar's HOLD_KEY_GRACE_MS). */
export const RECONCILED_HOLD_KEY_GRACE_MS = 60_000;

export interface EscrowReconcileReport {
  origin: string;
  holder: string;
  reconcileId: string;
  /** Drain records applied now (this run's and any an earlier run left). */
  applied: number;
  /** Units returned to the origin's promisable stock (budget never promised). */
  returnedUnits: number;
  /** Units the holder promised, now held in the origin. */
  usedUnits: number;
  perSku: Record<string, { returned: number; used: number }>;
}

export function newReconcileId(): string {
  return `r-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

export async function runEscrowReconcileJob(
  ledger: EscrowLedger,
  nowMs: number,
  reconcileId: string = newReconcileId(),
  holdTtlMs: number = RECONCILED_HOLD_TTL_MS,
): Promise<EscrowReconcileReport> {
  // Nothing is drained while the origin cannot take it back: the holder keeps serving from it.
  await ledger.pingOrigin();
  const report: EscrowReconcileReport = {
    origin: ledger.origin,
    holder: ledger.holder,
    reconcileId,
    applied: 0,
    returnedUnits: 0,
    usedUnits: 0,
    perSku: {},
  };
  for (const sku of await ledger.budgetSkus()) {
    await ledger.drain(sku, reconcileId);
    for (const [id, record] of await ledger.drainRecords(sku)) {
      // An empty budget drains to an empty record: nothing to apply, only to forget.
      if (record === '') {
        await ledger.forget(sku, id);
        continue;
      }
      const applied = await ledger.apply(
        sku,
        id,
        record,
        nowMs + holdTtlMs,
        holdTtlMs + RECONCILED_HOLD_KEY_GRACE_MS,
      );
      await ledger.forget(sku, id);
      if (!applied) continue;
      report.applied++;
      const s = report.perSku[sku] ?? { returned: 0, used: 0 };
      report.perSku[sku] = s;
      for (const n of parseDrainRecord(record)) {
        s.returned += n.left;
        s.used += n.used;
        report.returnedUnits += n.left;
        report.usedUnits += n.used;
      }
    }
  }
  return report;
}
