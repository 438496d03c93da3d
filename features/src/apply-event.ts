/**
 * The fold of one in-sequence inventory event into a (sku,node) record. This
 * is the single definition of what an event means for stock: the ingester
 * (Redis), the hot cache and the offline dataset builder all call it.
 */
import type { InventoryEvent } from '@mercato/proto/v1/inventory-event';
import { CANCEL_SHARE_ALPHA, VELOCITY_TAU_MS } from './freshness.js';
import { R } from './record-layout.js';

/** What to do with an event given the record's next expected sequence. */
export type Disposition = 'apply' | 'duplicate' | 'early';

export function classify(rec: Float64Array, off: number, sequence: number): Disposition {
  const next = rec[off + R.nextSeq]!;
  if (sequence < next) return 'duplicate';
  return sequence === next ? 'apply' : 'early';
}

/** Sales velocity (units per hour) decayed from its last update to `atMs`. */
export function velocityAt(rec: Float64Array, off: number, atMs: number): number {
  const v = rec[off + R.velocityPerH]!;
  const dt = atMs - rec[off + R.velocityAtMs]!;
  return dt > 0 ? v * Math.exp(-dt / VELOCITY_TAU_MS) : v;
}

/**
 * Applies `e` (whose sequence must equal the record's next expected one) to
 * the record at `off`. Heartbeats never reach here: they are node state.
 */
export function applyInSequence(rec: Float64Array, off: number, e: InventoryEvent): void {
  const q = e.quantity;
  const t = e.eventTimeMs;
  switch (e.kind) {
    case 'receipt':
      rec[off + R.onHand]! += q;
      rec[off + R.receivedUnits]! += q;
      markStock(rec, off, t);
      break;
    case 'sale': {
      rec[off + R.onHand]! -= q;
      // Units per hour: with tau = 1 h one unit adds 1/h; scale for other taus.
      const add = (q * 3_600_000) / VELOCITY_TAU_MS;
      if (t >= rec[off + R.velocityAtMs]!) {
        rec[off + R.velocityPerH] = velocityAt(rec, off, t) + add;
        rec[off + R.velocityAtMs] = t;
      } else {
        rec[off + R.velocityPerH]! += add;
      }
      markStock(rec, off, t);
      break;
    }
    case 'return':
    case 'adjustment':
      rec[off + R.onHand]! += q;
      markStock(rec, off, t);
      break;
    case 'reservation':
      rec[off + R.reserved]! += q;
      break;
    case 'release':
      rec[off + R.reserved]! -= q;
      rec[off + R.cancelShare] = rec[off + R.cancelShare]! * (1 - CANCEL_SHARE_ALPHA);
      break;
    case 'cancellation':
      rec[off + R.reserved]! -= q;
      rec[off + R.cancelShare] = rec[off + R.cancelShare]! * (1 - CANCEL_SHARE_ALPHA) + CANCEL_SHARE_ALPHA;
      break;
    case 'cycle-count': {
      const delta = q - rec[off + R.onHand]!;
      rec[off + R.lastCountDelta] = delta;
      if (delta < 0) rec[off + R.countedLossUnits]! -= delta;
      rec[off + R.counts]! += 1;
      if (Math.abs(delta) <= 1) rec[off + R.countsMatched]! += 1;
      rec[off + R.onHand] = q;
      if (t > rec[off + R.lastCountMs]!) rec[off + R.lastCountMs] = t;
      markStock(rec, off, t);
      break;
    }
    case 'heartbeat':
      throw new Error('heartbeats are node state, not (sku,node) state');
  }
  rec[off + R.nextSeq] = e.sequence + 1;
  rec[off + R.applied]! += 1;
  if (t > rec[off + R.lastEventMs]!) rec[off + R.lastEventMs] = t;
  if (rec[off + R.firstEventMs] === 0) rec[off + R.firstEventMs] = t;
}

function markStock(rec: Float64Array, off: number, t: number): void {
  if (t > rec[off + R.lastStockEventMs]!) rec[off + R.lastStockEventMs] = t;
}
