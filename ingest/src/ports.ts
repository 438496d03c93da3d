/**
 * The ingester's ports: every outside system it talks to, as a small
 * interface. The composition root (main.ts) builds the Kafka and Redis
 * adapters and hands them over as IngestPorts; the domain (ingester.ts and
 * what it creates) never imports a client library.
 */
import type { FeatureSink, IngestStateStore } from '@mercato/features/store-ports';
import type { Logger } from '@mercato/platform/logger';

/** One record as the log holds it. Offsets are decimal int64 strings (they exceed 2^53 in long-lived topics). */
export interface SourceMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Record timestamp (producer create time or broker append time), ms. */
  timestampMs: number;
}

/** Consecutive records of one partition, in offset order. */
export interface SourceBatch {
  topic: string;
  partition: number;
  messages: readonly SourceMessage[];
  /** Offset the next appended record will get (log end), as of this fetch. */
  highWatermark: string;
}

/** What a batch handler may do with its batch. */
export interface BatchControl {
  /**
   * Keeps the group membership alive during long work (it sends at most one
   * heartbeat per heartbeat interval). Rejects when the group is rebalancing:
   * let that error escape the handler so the consumer rejoins; the batch,
   * not committed, goes to whoever owns the partition next.
   */
  heartbeat(): Promise<void>;
  /** False once the source is stopping or the partition was revoked: abandon the batch uncommitted. */
  isActive(): boolean;
  /**
   * Declares every record up to and including `lastOffset` durable and
   * commits `lastOffset + 1`, the next record to read. The source may defer
   * the commit to coalesce commits (it reports it through `onStatus` once
   * acknowledged, and a failed one as `commit-failed`); it rejects only when
   * a commit it awaited failed (let it escape: the consumer recovers and the
   * batch is re-delivered). Records of a batch left uncommitted when the
   * handler returns or throws are fetched again (a source that fetches ahead
   * seeks back), unless the batch was abandoned (isActive() false).
   */
  commit(lastOffset: string): Promise<void>;
}

export type BatchHandler = (batch: SourceBatch, control: BatchControl) => Promise<void>;

export type SourceStatus =
  | { kind: 'assigned'; partitions: number[] }
  | { kind: 'rebalancing' }
  /** The group coordinator acknowledged `offset` (the next record to read) for `partition`. */
  | { kind: 'committed'; partition: number; offset: string }
  /** A deferred commit failed; the records stay uncommitted and will be re-delivered if nothing commits them. */
  | { kind: 'commit-failed'; error: Error }
  | { kind: 'crashed'; error: Error; restarting: boolean }
  | { kind: 'stopped' };

/** A partitioned, replayable log of inventory events read by a consumer group. */
export interface EventSource {
  /**
   * Joins the group and calls `handler` for every fetched batch: one batch
   * at a time per partition, in offset order, partitions concurrently (the
   * source may fetch a partition's next batch while its handler runs). Resolves once the
   * consumer runs; a crash later is reported through `onStatus` and the
   * source restarts itself.
   */
  start(handler: BatchHandler, onStatus: (s: SourceStatus) => void): Promise<void>;
  /**
   * Leaves the group after the batches in flight finish. Every step is
   * bounded; a step abandoned at its deadline (brokers gone) makes stop()
   * reject with ATP_ERR_INGEST_STOP_TIMEOUT once the rest of it has run.
   */
  stop(): Promise<void>;
  /** Log-end offset per partition of the topic, asked of the brokers now. */
  highWatermarks(): Promise<Map<number, string>>;
  /** The group's committed offset per partition (absent: nothing committed yet), asked of the brokers now. */
  committedOffsets(): Promise<Map<number, string>>;
  /**
   * Whether the group had committed anything when this source started (read
   * before its first fetch; undefined: not known). A group that had not reads
   * the log from its start in this process: a store epoch begun now needs no
   * rewind.
   */
  hadCommitsAtStart?(): boolean | undefined;
  /**
   * Replays the log from the earliest retained records (the group's offsets
   * reset there, consumption restarted with the same handler): the store
   * epoch refill after the feature store lost its state. Absent: no refill.
   */
  rewindToStart?(): Promise<void>;
}

/**
 * The feature store's epoch (DESIGN.md §6 "Redis lost its state"): the
 * ingester starts a new one when the store lost its data, and marks it ready
 * once the log is replayed into the store.
 */
export interface StoreEpochs {
  /** True when the store lost its state since the current epoch began (or has none). */
  lost(): Promise<boolean>;
  /** Starts a new epoch (state refilling); returns its id. */
  begin(nowMs: number): Promise<string>;
  /**
   * The current epoch's id while it is refilling (null: ready, or none): an
   * ingester that starts and finds one finishes the refill another left.
   */
  refilling(): Promise<string | null>;
  /** The epoch's SKUs are refilled; false when another epoch replaced it meanwhile. */
  ready(id: string): Promise<boolean>;
}

/** Why a message could not be applied, with everything needed to inspect and re-drive it. */
export interface DeadLetter {
  key: Buffer | null;
  /** The original bytes, untouched. */
  value: Buffer | null;
  code: string;
  field: string | null;
  reason: string;
  topic: string;
  partition: number;
  offset: string;
  timestampMs: number;
}

export interface DeadLetterSink {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves once every letter is acknowledged by all in-sync replicas; rejects otherwise. */
  send(letters: readonly DeadLetter[]): Promise<void>;
}

/** What the composition root hands the ingester. */
export interface IngestPorts {
  source: EventSource;
  deadLetters: DeadLetterSink;
  /** The regional feature store's write side. */
  store: FeatureSink;
  /** Lag reports and pending-gap bookkeeping, beside the feature store. */
  state: IngestStateStore;
  log: Logger;
  /** Wall clock, ms (tests pass a fake one). */
  clock: () => number;
  /** The store epoch (absent: not watched, nothing refilled after a loss). */
  epochs?: StoreEpochs;
}
