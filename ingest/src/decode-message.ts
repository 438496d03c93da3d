/**
 * The edge of the ingester: one Kafka record in, a typed event or the reason
 * it cannot be one out. A reason sends the record to the dead-letter topic;
 * it is never dropped silently.
 *
 * Key and partition are checked but not enforced: an event keyed or
 * partitioned against the contract is still a true fact about stock (the
 * per-(sku,node) sequence keeps it correct on any partition), so it is
 * applied and counted as misrouted; only the lag attribution of its SKU
 * suffers, which the counter makes visible.
 */
import { decodeEvent, eventKey, type InventoryEvent } from '@mercato/proto/v1/inventory-event';
import { partitionForKey } from '@mercato/proto/v1/partition-for-key';
import { INGEST_ERR, type RejectReason, rejectReasonOf } from './ingest-errors.js';
import type { SourceMessage } from './ports.js';

/** Far above any valid event (about 300 bytes); larger values are not parsed. */
export const MAX_EVENT_BYTES = 16_384;

export type Misroute = 'none' | 'key' | 'partition';

export type Decoded =
  | { ok: true; event: InventoryEvent; misroute: Misroute }
  | { ok: false; reason: RejectReason };

/**
 * Decodes `m`, read from `partition` of a topic with `partitionCount`
 * partitions (0 = unknown: the partition is not checked).
 */
export function decodeMessage(m: SourceMessage, partition: number, partitionCount: number): Decoded {
  const value = m.value;
  if (value === null || value.length === 0) {
    return {
      ok: false,
      reason: {
        code: INGEST_ERR.EMPTY_VALUE.code,
        field: '$',
        message: 'the record has no value (tombstone)',
      },
    };
  }
  if (value.length > MAX_EVENT_BYTES) {
    return {
      ok: false,
      reason: {
        code: INGEST_ERR.OVERSIZED_VALUE.code,
        field: '$',
        message: `value of ${value.length} bytes exceeds ${MAX_EVENT_BYTES}`,
      },
    };
  }
  let event: InventoryEvent;
  try {
    event = decodeEvent(value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: rejectReasonOf(err) };
  }
  const want = eventKey(event);
  if (m.key === null || m.key.toString('utf8') !== want) return { ok: true, event, misroute: 'key' };
  if (partitionCount > 0 && partitionForKey(want, partitionCount) !== partition) {
    return { ok: true, event, misroute: 'partition' };
  }
  return { ok: true, event, misroute: 'none' };
}
