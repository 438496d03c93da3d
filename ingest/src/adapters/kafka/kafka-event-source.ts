/**
 * EventSource over a kafkajs consumer group.
 *
 * Commits are manual and explicit: `autoCommit: false` and
 * `eachBatchAutoResolve: false`, and BatchControl.commit(lastOffset) both
 * resolves the offset (so the next fetch starts after it) and commits
 * `lastOffset + 1`. Kafka stores the offset of the next record to read, so
 * committing the record's own offset would re-deliver it after every restart
 * (the known kafkajs trap: tulios/kafkajs#540, #679).
 *
 * Fetch ahead: kafkajs fetches a partition again only once eachBatch has
 * returned, so a handler awaited there leaves the consumer idle during every
 * Redis write and Redis idle during every fetch. eachBatch therefore only
 * launches the handler and resolves the batch's last offset, so the next
 * fetch of that partition runs while the batch is applied; the next batch of
 * the partition waits in eachBatch until the previous one is done (one batch
 * applied and one fetched per partition: bounded memory, order kept). A
 * batch the handler leaves uncommitted (it failed, or gave up) makes the
 * source seek the partition back to the first record not committed, and the
 * batch fetched ahead of it is dropped (kafkajs marks it stale), so nothing
 * is skipped; commits still name only records the handler declared durable.
 *
 * Commits are coalesced per partition: at most one every commitIntervalMs
 * (0 = after every batch), and never awaited by the batch: BatchControl.commit
 * records the offset and, when the partition's interval has passed, sends it
 * in the background (a timer sends the rest, and stop() the last ones). A
 * commit only ever names records the handler already declared processed, so
 * coalescing changes how much is re-delivered after a crash, never whether
 * anything is lost. Without it, one coordinator round trip per batch caps a
 * partition's throughput and adds to every event's latency.
 *
 * Crashes: kafkajs restarts its consumer after retriable failures by itself;
 * after a non-retriable one it stays down, so this source relaunches a fresh
 * consumer with capped backoff until stop() is called.
 */

import { createKafkaClient, type SocketFactory } from '@mercato/adapters/kafka/kafka-client';
import type { KafkaSecurity } from '@mercato/adapters/kafka/kafka-security';
import { AtpError } from '@mercato/platform/errors';
import { settleWithin } from '@mercato/platform/lifecycle';
import type { Logger } from '@mercato/platform/logger';
import { Periodic } from '@mercato/platform/periodic';
import { nextOffset } from '@mercato/proto/v1/stream-lag';
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import { INGEST_ERR } from '../../ingest-errors.js';
import type {
  BatchControl,
  BatchHandler,
  EventSource,
  SourceBatch,
  SourceMessage,
  SourceStatus,
} from '../../ports.js';

export const RELAUNCH_INITIAL_BACKOFF_MS = 500;
export const RELAUNCH_MAX_BACKOFF_MS = 10_000;
/**
 * stop() gives the last commit and the group leave this long each. kafkajs
 * retries both for up to a minute when brokers are unreachable; past the
 * deadline the member is abandoned (its session expires on the coordinator)
 * and whatever it did not commit is re-delivered to the next owner.
 */
export const STOP_STEP_DEADLINE_MS = 10_000;
/** kafkajs' default retries per consumer operation (kept when the retry options are given). */
export const KAFKAJS_CONSUMER_RETRIES = 5;
/** Kafka's Java consumer auto-commits every 5 s; a second keeps re-delivery after a crash small. */
export const DEFAULT_COMMIT_INTERVAL_MS = 1_000;
/**
 * stop() lets the batches being applied finish for this long (then commits
 * them); a batch still retrying a failing write after it is abandoned
 * uncommitted, and its records go to the next owner.
 */
export const STOP_DRAIN_MS = 2_000;

export interface KafkaEventSourceConfig {
  brokers: string[];
  /** TLS / SASL to the brokers (--kafka-* flags); null = plaintext. */
  security?: KafkaSecurity | null;
  clientId: string;
  groupId: string;
  topic: string;
  fromBeginning: boolean;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  partitionsConsumedConcurrently: number;
  maxBytesPerPartition: number;
  /** Longest a fetch waits for data (kafkajs maxWaitTimeInMs). */
  maxWaitTimeMs: number;
  /** Minimum time between two commits of one partition; 0 = commit after every batch. */
  commitIntervalMs?: number;
  logger: Logger;
  socketFactory?: SocketFactory;
}

export class KafkaEventSource implements EventSource {
  private readonly kafka;
  private readonly log: Logger;
  private admin: Admin | null = null;
  private consumer: Consumer | null = null;
  private running = false;
  private relaunchTimer: NodeJS.Timeout | null = null;
  private relaunchDelayMs = RELAUNCH_INITIAL_BACKOFF_MS;
  private handler: BatchHandler = async () => {
    throw new Error('KafkaEventSource: a batch arrived before start()');
  };
  private onStatus: (s: SourceStatus) => void = () => undefined;
  private readonly commitIntervalMs: number;
  /** Partition -> next offset to commit (processed, not yet committed). */
  private readonly pending = new Map<number, string>();
  private readonly lastCommitMs = new Map<number, number>();
  /** Sends deferred commits whose interval has passed (null when commits are not coalesced). */
  private commitFlusher: Periodic | null = null;
  /** Stop steps abandoned at their deadline during the current stop(). */
  private abandonedSteps: string[] = [];
  /** True between a group join and a crash: only then does consumer.commitOffsets do anything. */
  private consumerUp = false;
  private stopping = false;
  /** Set during stop() once STOP_DRAIN_MS passed: batches still retrying give up. */
  private abandoning = false;
  private commitChain: Promise<void> = Promise.resolve();
  /** Partition -> the batch being applied (launched by eachBatch, awaited by the partition's next eachBatch). */
  private readonly applying = new Map<number, Promise<void>>();

  constructor(private readonly config: KafkaEventSourceConfig) {
    this.log = config.logger.child({ component: 'kafka-event-source' });
    this.commitIntervalMs = config.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS;
    this.kafka = createKafkaClient({
      brokers: config.brokers,
      clientId: config.clientId,
      logger: config.logger,
      socketFactory: config.socketFactory,
      security: config.security ?? null,
    });
  }

  /** Read before the first fetch (see EventSource.hadCommitsAtStart). */
  private commitsAtStart: boolean | undefined = undefined;

  async start(handler: BatchHandler, onStatus: (s: SourceStatus) => void): Promise<void> {
    this.handler = handler;
    this.onStatus = onStatus;
    this.running = true;
    this.stopping = false;
    this.abandoning = false;
    const admin = this.kafka.admin();
    await admin.connect();
    this.admin = admin;
    this.commitsAtStart = await this.committedOffsets().then(
      (m) => m.size > 0,
      () => undefined,
    );
    await this.launch();
    if (this.commitIntervalMs > 0) {
      // flushDue reports its own failures (commit-failed status); it never throws.
      this.commitFlusher = new Periodic({
        name: 'commit-flush',
        intervalMs: this.commitIntervalMs,
        run: () => this.flushDue(false),
      });
      await this.commitFlusher.start();
    }
  }

  async stop(): Promise<void> {
    // From here on no batch is launched, and batches finishing commit at once instead of deferring.
    this.stopping = true;
    this.abandonedSteps = [];
    try {
      this.consumer?.pause([{ topic: this.config.topic }]);
    } catch {
      // Not running (crashed, or never joined): nothing is being fetched.
    }
    const flusher = this.commitFlusher;
    this.commitFlusher = null;
    const giveUp = setTimeout(() => {
      this.abandoning = true;
    }, STOP_DRAIN_MS);
    await this.withDeadline(Promise.all([...this.applying.values()]), 'batches in flight');
    clearTimeout(giveUp);
    // A timed flush in flight is awaited by the flusher's stop, inside the last commit's deadline.
    const lastCommit = (flusher?.stop() ?? Promise.resolve()).then(() => this.flushDue(true));
    await this.withDeadline(lastCommit, 'last commit');
    this.running = false;
    if (this.relaunchTimer !== null) clearTimeout(this.relaunchTimer);
    this.relaunchTimer = null;
    const consumer = this.consumer;
    this.consumer = null;
    // disconnect() stops fetching, waits for the batches in flight, then leaves the group.
    if (consumer !== null) {
      const leaving = consumer
        .disconnect()
        .catch((err: Error) => this.log.warn({ err: err.message }, 'consumer disconnect'));
      await this.withDeadline(leaving, 'leaving the group');
    }
    const admin = this.admin;
    this.admin = null;
    if (admin !== null)
      await this.withDeadline(
        admin.disconnect().catch(() => undefined),
        'admin disconnect',
      );
    this.onStatus({ kind: 'stopped' });
    if (this.abandonedSteps.length > 0) {
      throw new AtpError(
        INGEST_ERR.STOP_TIMED_OUT,
        `${this.abandonedSteps.join(', ')} did not finish within ${STOP_STEP_DEADLINE_MS} ms`,
      );
    }
  }

  /**
   * Leaves the group, resets its offsets to the earliest retained ones and
   * joins again (the store epoch refill). The reset needs the group empty:
   * with other members it fails, and this source rejoins where it was.
   */
  async rewindToStart(): Promise<void> {
    if (!this.running) return;
    const handler = this.handler;
    const onStatus = this.onStatus;
    await this.stop();
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.resetOffsets({ groupId: this.config.groupId, topic: this.config.topic, earliest: true });
    } finally {
      await admin.disconnect().catch(() => undefined);
      await this.start(handler, onStatus);
    }
  }

  async highWatermarks(): Promise<Map<number, string>> {
    const admin = this.requireAdmin();
    const offsets = await admin.fetchTopicOffsets(this.config.topic);
    return new Map(offsets.map((o) => [o.partition, o.high]));
  }

  async committedOffsets(): Promise<Map<number, string>> {
    const admin = this.requireAdmin();
    const [topic] = await admin.fetchOffsets({ groupId: this.config.groupId, topics: [this.config.topic] });
    const out = new Map<number, string>();
    // -1 means the group has committed nothing for that partition.
    for (const p of topic?.partitions ?? []) if (BigInt(p.offset) >= 0n) out.set(p.partition, p.offset);
    return out;
  }

  private async withDeadline(p: Promise<unknown>, what: string): Promise<void> {
    if ((await settleWithin(p, STOP_STEP_DEADLINE_MS)) === 'late') {
      this.abandonedSteps.push(what);
      this.log.warn({ deadlineMs: STOP_STEP_DEADLINE_MS }, `stop: ${what} did not finish; going on`);
    }
  }

  hadCommitsAtStart(): boolean | undefined {
    return this.commitsAtStart;
  }

  private requireAdmin(): Admin {
    if (this.admin === null) throw new Error('KafkaEventSource is not started');
    return this.admin;
  }

  /** Creates, subscribes and runs one consumer; on failure schedules a relaunch. */
  private async launch(): Promise<void> {
    const c = this.config;
    const consumer = this.kafka.consumer({
      groupId: c.groupId,
      sessionTimeout: c.sessionTimeoutMs,
      rebalanceTimeout: c.rebalanceTimeoutMs,
      heartbeatInterval: c.heartbeatIntervalMs,
      maxBytesPerPartition: c.maxBytesPerPartition,
      maxWaitTimeInMs: c.maxWaitTimeMs,
      allowAutoTopicCreation: true,
      // kafkajs restarts a crashed consumer on its own. Once stop() has abandoned this consumer
      // (its group leave outlived the deadline) a restart would reconnect forever in the
      // background and keep the process alive: only the current consumer of a running source restarts.
      retry: {
        retries: KAFKAJS_CONSUMER_RETRIES,
        restartOnFailure: async () => this.running && this.consumer === consumer,
      },
    });
    const ev = consumer.events;
    consumer.on(ev.GROUP_JOIN, (e) => {
      this.relaunchDelayMs = RELAUNCH_INITIAL_BACKOFF_MS;
      const partitions = e.payload.memberAssignment[c.topic] ?? [];
      // Progress on partitions now owned by another member is theirs to commit.
      const owned = new Set(partitions);
      for (const p of [...this.pending.keys()]) if (!owned.has(p)) this.pending.delete(p);
      this.consumerUp = true;
      this.onStatus({ kind: 'assigned', partitions });
    });
    consumer.on(ev.REBALANCING, () => this.onStatus({ kind: 'rebalancing' }));
    consumer.on(ev.CRASH, (e) => {
      // A restarted consumer fetches again from the committed offsets: deferred commits are moot.
      this.consumerUp = false;
      this.pending.clear();
      const restarting = e.payload.restart;
      this.onStatus({ kind: 'crashed', error: e.payload.error, restarting });
      if (!restarting && this.running && this.consumer === consumer) this.scheduleRelaunch(consumer);
    });
    this.consumer = consumer;
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: c.topic, fromBeginning: c.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: c.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.handleBatch(consumer, payload),
      });
    } catch (err) {
      this.onStatus({ kind: 'crashed', error: err as Error, restarting: true });
      if (this.running) this.scheduleRelaunch(consumer);
      else throw err;
    }
  }

  private scheduleRelaunch(dead: Consumer): void {
    if (this.relaunchTimer !== null) return;
    const delay = this.relaunchDelayMs;
    this.relaunchDelayMs = Math.min(RELAUNCH_MAX_BACKOFF_MS, this.relaunchDelayMs * 2);
    this.log.warn({ delayMs: delay }, 'consumer is down; relaunching');
    this.relaunchTimer = setTimeout(() => {
      this.relaunchTimer = null;
      void (async () => {
        await dead.disconnect().catch(() => undefined);
        if (this.running) await this.launch();
      })();
    }, delay);
  }

  private async handleBatch(consumer: Consumer, p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    const partition = batch.partition;
    // One batch of a partition at a time: this one was fetched while the previous one was applied.
    await this.applying.get(partition);
    // Stale: the previous batch was not committed and the source seeked back (or a seek is pending).
    if (this.stopping || !p.isRunning() || p.isStale()) return;
    const first = batch.messages[0];
    const last = batch.messages[batch.messages.length - 1];
    if (first === undefined || last === undefined) return;
    const messages: SourceMessage[] = batch.messages.map((m) => ({
      offset: m.offset,
      key: m.key ?? null,
      value: m.value ?? null,
      timestampMs: Number(m.timestamp),
    }));
    const sourceBatch: SourceBatch = {
      topic: batch.topic,
      partition,
      messages,
      highWatermark: batch.highWatermark,
    };
    let committedThrough: string | null = null;
    const control: BatchControl = {
      heartbeat: () => p.heartbeat(),
      isActive: () => !this.abandoning && p.isRunning() && !p.isStale(),
      commit: async (lastOffset) => {
        committedThrough = lastOffset;
        this.processed(partition, lastOffset);
      },
    };
    // Fetch ahead: the next fetch of this partition starts after this batch while it is applied.
    p.resolveOffset(last.offset);
    const applied = this.handler(sourceBatch, control).then(
      () => {
        if (committedThrough !== last.offset)
          this.rewind(consumer, p, partition, committedThrough ?? null, first.offset);
      },
      (err: Error) => {
        this.log.warn({ partition, err: err.message }, 'batch failed; fetching it again');
        this.rewind(consumer, p, partition, committedThrough, first.offset);
      },
    );
    this.applying.set(partition, applied);
  }

  /**
   * The handler left records of a batch uncommitted: the next fetch of the
   * partition starts at the first of them again (the batch fetched ahead is
   * dropped as stale). Not while stopping (the next owner gets them) nor
   * when a seek is already pending or the consumer was replaced (both
   * restart from their own position).
   */
  private rewind(
    consumer: Consumer,
    p: EachBatchPayload,
    partition: number,
    committedThrough: string | null,
    firstOffset: string,
  ): void {
    if (this.stopping || this.consumer !== consumer || !p.isRunning() || p.isStale()) return;
    const offset = committedThrough === null ? firstOffset : nextOffset(committedThrough);
    try {
      consumer.seek({ topic: this.config.topic, partition, offset });
    } catch (err) {
      this.log.warn({ partition, err: (err as Error).message }, 'could not seek back');
    }
  }

  /** Records `lastOffset` as durable and sends the commit in the background once the partition's interval passed. */
  private processed(partition: number, lastOffset: string): void {
    this.pending.set(partition, nextOffset(lastOffset));
    const sinceMs = Date.now() - (this.lastCommitMs.get(partition) ?? 0);
    if (this.stopping || sinceMs >= this.commitIntervalMs) void this.flushDue(this.stopping);
  }

  /**
   * One commit request at a time: a timer commit still in flight must not
   * land after a newer inline commit of the same partition and move the
   * group's position back.
   */
  private serially<T>(send: () => Promise<T>): Promise<T> {
    const next = this.commitChain.then(send, send);
    this.commitChain = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  private committed(partition: number, offset: string): void {
    if (this.pending.get(partition) === offset) this.pending.delete(partition);
    this.lastCommitMs.set(partition, Date.now());
    this.onStatus({ kind: 'committed', partition, offset });
  }

  /** Commits deferred offsets whose interval has passed (all of them when `all`). */
  private async flushDue(all: boolean): Promise<void> {
    const consumer = this.consumer;
    if (consumer === null || !this.consumerUp || this.pending.size === 0) return;
    const now = Date.now();
    const due: { topic: string; partition: number; offset: string }[] = [];
    for (const [partition, offset] of this.pending) {
      if (all || now - (this.lastCommitMs.get(partition) ?? 0) >= this.commitIntervalMs) {
        due.push({ topic: this.config.topic, partition, offset });
      }
    }
    if (due.length === 0) return;
    try {
      await this.serially(() => consumer.commitOffsets(due));
      // commitOffsets silently does nothing once the consumer stopped: only a live consumer's counts.
      if (!this.consumerUp) return;
      for (const d of due) this.committed(d.partition, d.offset);
    } catch (err) {
      this.onStatus({ kind: 'commit-failed', error: err as Error });
    }
  }
}
