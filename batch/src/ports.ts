/**
 * The ports of the batch job. The jobs (directory-job.ts, features-job.ts)
 * see only these; main.ts wires files, Kafka topics and Redis behind them.
 */
import type { InventoryEvent } from '@mercato/proto/v1/inventory-event';
import type { BatchFeatureSet, NodeInfo } from '@mercato/proto/v1/node-directory';
import type { OrderOutcome } from '@mercato/proto/v1/order-outcome';

/** One delivered event and when it reached the system (ms). */
export interface DeliveredEvent {
  event: InventoryEvent;
  arrivalMs: number;
}

/** What a history read skipped, so a report can say so (the ingester dead-lettered them already). */
export interface SkippedRecords {
  invalid: number;
  firstError: string | null;
}

/** A bounded history (file or topic snapshot), read once from beginning to end. */
export interface History<T> {
  readonly name: string;
  read(onRecord: (r: T) => void): Promise<SkippedRecords>;
}

/** Where published sets land (the regional Redis); each publish switches the current version atomically. */
export interface NodeSetPublisher {
  publishDirectory(version: string, nodes: readonly NodeInfo[], computedAtMs: number): Promise<void>;
  publishBatch(set: BatchFeatureSet): Promise<void>;
}

export type EventHistory = History<DeliveredEvent>;
export type OutcomeHistory = History<OrderOutcome>;
