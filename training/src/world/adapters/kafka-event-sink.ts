/**
 * The world's EventSink on Kafka: every delivered inventory event goes to
 * `inventory.mutations.<region>` (key = eventKey(e), value = the wire JSON)
 * with its simulated delivery time as the record's timestamp, so the
 * ingester's lag is measured in world time; and to the run's NDJSON log,
 * one wire event per line with `delivered_at_ms` beside its fields (what
 * `atp-batch features --events-file` reads).
 *
 * Backpressure: `beforeSend(batch)`, when given, is awaited before each
 * batch (the supervisor waits there while the ingester lags too far); the
 * driver's batches never overlap, so a wait holds the world's event stream.
 */
import { encodeEvent, eventKey, toWire } from '@mercato/proto/v1/inventory-event';
import { mutationsTopic } from '@mercato/proto/v1/topics';
import type { DeliveredEvent, EventSink } from '../world-ports.js';
import { type KafkaSinkOptions, TopicSink } from './topic-writer.js';

export const EVENT_SINK_CLIENT_ID = 'atp-world-events';

export interface KafkaEventSinkOptions extends KafkaSinkOptions {
  /** Awaited before each batch is produced (backpressure); a rejection fails the send. */
  beforeSend?: (batch: readonly DeliveredEvent[]) => Promise<void>;
}

/** One NDJSON line: the wire event plus when it reached the system. */
export function deliveredEventLine(d: DeliveredEvent): string {
  return JSON.stringify({ ...toWire(d.event), delivered_at_ms: d.deliverAtMs });
}

export class KafkaEventSink extends TopicSink implements EventSink {
  private readonly beforeSend: KafkaEventSinkOptions['beforeSend'];
  batches = 0;

  constructor(o: KafkaEventSinkOptions) {
    super(mutationsTopic(o.region), o, EVENT_SINK_CLIENT_ID);
    this.beforeSend = o.beforeSend;
  }

  async send(batch: readonly DeliveredEvent[]): Promise<void> {
    if (batch.length === 0) return;
    await this.beforeSend?.(batch);
    const records = batch.map((d) => ({
      key: eventKey(d.event),
      value: encodeEvent(d.event),
      timestamp: String(d.deliverAtMs),
    }));
    await this.writer.write(records, batch.map(deliveredEventLine));
    this.batches++;
  }
}
