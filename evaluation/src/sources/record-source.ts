/**
 * Where the join's records come from (a port: Kafka in production, NDJSON
 * files for local use). A source hands over one batch at a time per
 * partition and waits for the handler: the handler resolves once the batch's
 * effects and offset are durable in the store, and only then may the source
 * acknowledge it upstream (commit the Kafka offset). A handler that throws
 * leaves the batch unacknowledged: it is delivered again.
 */
import type { PartitionEnd, RecordBatch } from '../join/outcome-join.js';

export type BatchHandler = (batch: RecordBatch) => Promise<void>;
/** Called once before the first batch with the partitions the source will read and their log ends. */
export type PartitionsHandler = (ends: PartitionEnd[]) => void;

export interface RecordSource {
  /** Starts delivering; resolves once delivery began (a Kafka group joined, files opened). */
  start(handler: BatchHandler, onPartitions: PartitionsHandler): Promise<void>;
  /** Resolves when a finite source delivered everything (files); never for Kafka. */
  readonly finished: Promise<void>;
  /** Stops delivering after the batch in flight; idempotent. */
  stop(): Promise<void>;
}
