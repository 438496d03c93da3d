/**
 * EventSource over a kafkajs consumer group.
 *
 * Commits are manual and explicit: `autoCommit: false` and
 * `eachBatchAutoResolve: false`, and BatchControl.commit(lastOffset) both
 * resolves the offset (so the next fetch starts after it) and commits
 * `lastOffset + 1`. Kafka stores the offset of the next record to read, so
 * committing the record's own offset would re-deliver it after every restart
 * (the known kafkajs trap: tulios/kafkajs#540, #679). A batch the handler
 * leaves unresolved is fetched again.
 *
 * Commits are coalesced per partition: at most one every commitIntervalMs
 * (0 = after every batch). A deferred commit is sent by the next batch of
 * that partition or by a timer, and on stop; it only ever names records the
 * handler already declared processed, so coalescing changes how much is
 * re-delivered after a crash, never whether anything is lost. Without it,
 * one coordinator round trip per batch caps a partition's throughput when
 * batches are small (as they are when the consumer keeps up).
 *
 * Crashes: kafkajs restarts its consumer after retriable failures by itself;
 * after a non-retriable one it stays down, so this source relaunches a fresh
 * consumer with capped backoff until stop() is called.
 */

import { createKafkaClient, type SocketFactory } from '@mercato/adapters/kafka/kafka-client';
import { settleWithin } from '@mercato/platform/lifecycle';
import { nextOffset } from '@mercato/proto/v1/stream-lag';
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import type { Logger } from 'pino';
import type { BatchHandler, EventSource, SourceBatch, SourceMessage, SourceStatus } from '../../ports.js';

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

export interface KafkaEventSourceConfig {
  brokers: string[];
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
  private handler: BatchHandler | null = null;
  private onStatus: (s: SourceStatus) => void = () => undefined;
  private readonly commitIntervalMs: number;
  /** Partition -> next offset to commit (processed, not yet committed). */
  private readonly pending = new Map<number, string>();
  private readonly lastCommitMs = new Map<number, number>();
  private commitTimer: NodeJS.Timeout | null = null;
  /** True between a group join and a crash: only then does consumer.commitOffsets do anything. */
  private consumerUp = false;
  private stopping = false;
  private commitChain: Promise<void> = Promise.resolve();

  constructor(private readonly config: KafkaEventSourceConfig) {
    this.log = config.logger.child({ component: 'kafka-event-source' });
    this.commitIntervalMs = config.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS;
    this.kafka = createKafkaClient({
      brokers: config.brokers,
      clientId: config.clientId,
      logger: config.logger,
      socketFactory: config.socketFactory,
    });
  }

  async start(handler: BatchHandler, onStatus: (s: SourceStatus) => void): Promise<void> {
    this.handler = handler;
    this.onStatus = onStatus;
    this.running = true;
    this.stopping = false;
    const admin = this.kafka.admin();
    await admin.connect();
    this.admin = admin;
    await this.launch();
    if (this.commitIntervalMs > 0) {
      this.commitTimer = setInterval(() => {
        void this.flushDue(false);
      }, this.commitIntervalMs);
      this.commitTimer.unref();
    }
  }

  async stop(): Promise<void> {
    // From here on, batches still in flight commit at once instead of deferring.
    this.stopping = true;
    if (this.commitTimer !== null) clearInterval(this.commitTimer);
    this.commitTimer = null;
    await this.withDeadline(this.flushDue(true), 'last commit');
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
    if ((await settleWithin(p, STOP_STEP_DEADLINE_MS)) === 'late')
      this.log.warn({ deadlineMs: STOP_STEP_DEADLINE_MS }, `stop: ${what} did not finish; going on`);
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
        eachBatch: (payload) => this.handleBatch(payload),
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

  private async handleBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    const messages: SourceMessage[] = batch.messages.map((m) => ({
      offset: m.offset,
      key: m.key ?? null,
      value: m.value ?? null,
      timestampMs: Number(m.timestamp),
    }));
    const sourceBatch: SourceBatch = {
      topic: batch.topic,
      partition: batch.partition,
      messages,
      highWatermark: batch.highWatermark,
    };
    await this.handler!(sourceBatch, {
      heartbeat: () => p.heartbeat(),
      isActive: () => p.isRunning() && !p.isStale(),
      commit: async (lastOffset) => {
        p.resolveOffset(lastOffset);
        const offset = nextOffset(lastOffset);
        this.pending.set(batch.partition, offset);
        const sinceMs = Date.now() - (this.lastCommitMs.get(batch.partition) ?? 0);
        if (!this.stopping && sinceMs < this.commitIntervalMs) return;
        // Inside eachBatch the payload's commit works even while the consumer is stopping.
        await this.serially(() =>
          p.commitOffsetsIfNecessary({
            topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset }] }],
          }),
        );
        this.committed(batch.partition, offset);
      },
    });
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
