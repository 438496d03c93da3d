/**
 * RecordSource over a kafkajs consumer group reading `atp.decisions.<region>`
 * and `order.outcomes.<region>`. Commits are manual: each batch goes to the
 * handler, which makes its effects and its offset durable in SQLite; only
 * then is `offset + 1` committed to Kafka (Kafka stores the next offset to
 * read). A crash between the two re-delivers the batch, and the join skips it
 * by its stored offsets, so the committed offset is a lower bound and the
 * store is the truth. A handler failure is thrown back to kafkajs, which
 * restarts the consumer from the last committed offset.
 *
 * A new group starts from the beginning of both topics: evaluation must see
 * every decision a region made (the store skips what it already applied).
 */
import { createKafkaClient, type SocketFactory } from '@mercato/adapters/kafka/kafka-client';
import type { Logger } from '@mercato/platform/logger';
import type { Consumer, Kafka } from 'kafkajs';
import type { Stream } from '../join/decode-record.js';
import type { PartitionEnd, SourceRecord } from '../join/outcome-join.js';
import type { BatchHandler, PartitionsHandler, RecordSource } from './record-source.js';

/**
 * How long the group waits for a member that stopped heartbeating before
 * giving its partitions to another: after a crash, the restarted join waits
 * this long for its partitions (a graceful stop leaves the group at once).
 */
export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
/** Longest a fetch waits for data: also the longest an idle partition delays a stop. */
export const DEFAULT_MAX_WAIT_MS = 500;

export interface KafkaRecordSourceConfig {
  brokers: string[];
  clientId: string;
  groupId: string;
  decisionsTopic: string;
  outcomesTopic: string;
  logger: Logger;
  socketFactory?: SocketFactory;
  /** Default DEFAULT_SESSION_TIMEOUT_MS; the broker bounds it (6 s to 5 min by default). */
  sessionTimeoutMs?: number;
}

export class KafkaRecordSource implements RecordSource {
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  private started = false;
  private stopping: Promise<void> | null = null;
  /** A Kafka source never finishes by itself. */
  readonly finished = new Promise<void>(() => undefined);

  constructor(private readonly config: KafkaRecordSourceConfig) {
    this.kafka = createKafkaClient({
      brokers: config.brokers,
      clientId: config.clientId,
      logger: config.logger,
      ...(config.socketFactory === undefined ? {} : { socketFactory: config.socketFactory }),
    });
    this.consumer = this.kafka.consumer({
      groupId: config.groupId,
      sessionTimeout: config.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
      maxWaitTimeInMs: DEFAULT_MAX_WAIT_MS,
      allowAutoTopicCreation: true,
    });
  }

  async start(handler: BatchHandler, onPartitions: PartitionsHandler): Promise<void> {
    this.started = true;
    const { decisionsTopic, outcomesTopic } = this.config;
    onPartitions(await this.partitionEnds([decisionsTopic, outcomesTopic]));
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [decisionsTopic, outcomesTopic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const stream: Stream = batch.topic === decisionsTopic ? 'decisions' : 'outcomes';
        const records: SourceRecord[] = batch.messages.map((m) => ({
          offset: Number(m.offset),
          key: m.key === null ? null : m.key.toString('utf8'),
          value: m.value === null ? '' : m.value.toString('utf8'),
        }));
        // Caught up: this batch reaches the high watermark the fetch reported.
        const caughtUp = batch.offsetLag() === '0';
        await handler({ stream, source: batch.topic, partition: batch.partition, records, caughtUp });
        const last = batch.messages[batch.messages.length - 1];
        if (last === undefined) return;
        resolveOffset(last.offset);
        await this.consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: String(Number(last.offset) + 1) },
        ]);
      },
    });
  }

  /** Every partition of the topics and its log end, so the join's watermark waits for backlogs not read yet. */
  private async partitionEnds(topics: readonly string[]): Promise<PartitionEnd[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const out: PartitionEnd[] = [];
      for (const topic of topics) {
        for (const o of await admin.fetchTopicOffsets(topic)) {
          out.push({ source: topic, partition: o.partition, endOffset: Number(o.high) });
        }
      }
      return out;
    } finally {
      await admin.disconnect();
    }
  }

  stop(): Promise<void> {
    if (!this.started) return Promise.resolve();
    this.stopping ??= this.consumer.disconnect();
    return this.stopping;
  }
}
