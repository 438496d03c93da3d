/**
 * Dead letters on Kafka: `<topic>.dlq` of the topic the record came from
 * (proto/v1/topics.ts deadLetterTopic), value and key untouched so a fixed
 * record can be re-driven as is, the reason in headers (DLQ_HEADERS, the
 * same names the ingester uses). Sends wait for all in-sync replicas.
 */
import { createKafkaClient, type SocketFactory } from '@mercato/adapters/kafka/kafka-client';
import type { Logger } from '@mercato/platform/logger';
import { deadLetterTopic } from '@mercato/proto/v1/topics';
import { type IHeaders, Partitioners, type Producer } from 'kafkajs';
import type { DeadLetter } from '../join/outcome-join.js';
import type { DeadLetterSink } from './dead-letter-sink.js';

export const DLQ_HEADERS = {
  code: 'atp-dlq-code',
  field: 'atp-dlq-field',
  reason: 'atp-dlq-reason',
  topic: 'atp-dlq-topic',
  partition: 'atp-dlq-partition',
  offset: 'atp-dlq-offset',
  deadLetteredAtMs: 'atp-dlq-at-ms',
} as const;

const ACKS_ALL = -1;

export interface KafkaDeadLetterSinkConfig {
  brokers: string[];
  clientId: string;
  logger: Logger;
  socketFactory?: SocketFactory;
}

export class KafkaDeadLetterSink implements DeadLetterSink {
  private readonly producer: Producer;
  private connected: Promise<void> | null = null;

  constructor(
    config: KafkaDeadLetterSinkConfig,
    private readonly clock: () => number = Date.now,
  ) {
    const kafka = createKafkaClient({
      brokers: config.brokers,
      clientId: `${config.clientId}-dlq`,
      logger: config.logger,
      ...(config.socketFactory === undefined ? {} : { socketFactory: config.socketFactory }),
    });
    this.producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
    });
  }

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    this.connected ??= this.producer.connect();
    await this.connected;
    const now = String(this.clock());
    const byTopic = new Map<string, DeadLetter[]>();
    for (const l of letters) {
      const topic = deadLetterTopic(l.source);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), l]);
    }
    await this.producer.sendBatch({
      acks: ACKS_ALL,
      topicMessages: [...byTopic].map(([topic, ls]) => ({
        topic,
        messages: ls.map((l) => {
          const headers: IHeaders = {
            [DLQ_HEADERS.code]: l.code,
            [DLQ_HEADERS.field]: l.field,
            [DLQ_HEADERS.reason]: l.reason,
            [DLQ_HEADERS.topic]: l.source,
            [DLQ_HEADERS.partition]: String(l.partition),
            [DLQ_HEADERS.offset]: String(l.offset),
            [DLQ_HEADERS.deadLetteredAtMs]: now,
          };
          return { key: l.key, value: l.value, headers };
        }),
      })),
    });
  }

  async stop(): Promise<void> {
    if (this.connected !== null) await this.producer.disconnect();
  }
}
