/**
 * Layout of the streaming state of one (sku,node) pair: a fixed run of
 * float64 slots, so the hot cache, the Redis adapter and the offline dataset
 * builder all hold the same packed record. Slot numbers are part of the
 * persisted format: append new slots, never renumber.
 */
export const R = {
  /** Units on hand as the feed reports them (receipts - sales + returns + adjustments, reset by counts). */
  onHand: 0,
  /** Units reserved by confirmed orders not yet shipped or cancelled. */
  reserved: 1,
  /** Next sequence number expected on this (sku,node) stream; starts at 1. */
  nextSeq: 2,
  /** Largest event time applied, any kind (ms). */
  lastEventMs: 3,
  /** Event time of the last event that changed on hand (ms). */
  lastStockEventMs: 4,
  /** Event time of the last cycle count (ms); 0 = never counted. */
  lastCountMs: 5,
  /** counted - system on hand at the last cycle count (negative = unrecorded loss). */
  lastCountDelta: 6,
  /** Sum of unrecorded losses found by cycle counts (units, >= 0). */
  countedLossUnits: 7,
  /** Number of cycle counts applied. */
  counts: 8,
  /** Recorded sales velocity, units per hour, exponentially decayed (value as of velocityAtMs). */
  velocityPerH: 9,
  velocityAtMs: 10,
  /** Share of reservations that ended in cancellation (exponentially weighted). */
  cancelShare: 11,
  /** Events applied in sequence order (duplicates and buffered ones excluded). */
  applied: 12,
  /** Sequence gaps given up on (events presumed lost). */
  gapsSkipped: 13,
  /** Event time of the first applied event (ms). */
  firstEventMs: 14,
  /** Units received over the record's life (for loss-rate estimates). */
  receivedUnits: 15,
  /** Cycle counts that matched the system count within one unit (scan accuracy). */
  countsMatched: 16,
} as const;

export const RECORD_WIDTH = 17;
export const RECORD_BYTES = RECORD_WIDTH * Float64Array.BYTES_PER_ELEMENT;

export type RecordSlot = keyof typeof R;

export function newRecord(): Float64Array {
  const rec = new Float64Array(RECORD_WIDTH);
  rec[R.nextSeq] = 1;
  return rec;
}

/** Per-node streaming state (heartbeats and feed activity). */
export const N = {
  /** Largest heartbeat event time seen (ms); 0 = never. */
  lastHeartbeatMs: 0,
  /** Largest event time of any event from this node (ms). */
  lastEventMs: 1,
  heartbeats: 2,
} as const;

export const NODE_RECORD_WIDTH = 3;
