/**
 * In-memory sinks of the world driver (the embedded default and the tests):
 * events applied to a FeatureState as the ingester would apply them to the
 * feature store, outcomes kept in a list.
 */
import { FeatureState } from '@mercato/features/feature-state';
import type { OrderOutcome } from '@mercato/proto/v1/order-outcome';
import type { DeliveredEvent, EventSink, OutcomeSink } from './world-ports.js';

export class MemoryEventSink implements EventSink {
  /** What a feature store fed these events holds (a naive router reads it). */
  readonly state = new FeatureState();
  sent = 0;
  batches = 0;

  async send(batch: readonly DeliveredEvent[]): Promise<void> {
    for (const d of batch) this.state.apply(d.event);
    this.sent += batch.length;
    this.batches++;
  }
}

export class MemoryOutcomeSink implements OutcomeSink {
  readonly outcomes: OrderOutcome[] = [];

  async send(batch: readonly OrderOutcome[]): Promise<void> {
    for (const o of batch) this.outcomes.push(o);
  }
}
