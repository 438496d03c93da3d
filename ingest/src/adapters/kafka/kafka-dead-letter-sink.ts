/**
 * DeadLetterSink on a Kafka topic (`inventory.mutations.<region>.dlq`). The
 * value is the original record's bytes, untouched, and the key its original
 * key, so a fixed record can be re-driven as is; why it was rejected and
 * where it came from travel in headers (names in DLQ_HEADERS, documented in
 * proto/v1/inventory_event.md). Sends wait for all in-sync replicas.
 */

import { createKafkaClient, type SocketFactory } from '@mercato/adapters/kafka/kafka-client';
import type { Logger } from '@mercato/platform/logger';
import { type IHeaders, Partitioners, type Producer } from 'kafkajs';
import type { DeadLetter, DeadLetterSink } from '../../ports.js';

export const DLQ_HEADERS = {
  code: 'atp-dlq-code',
  field: 'atp-dlq-field',
  reason: 'atp-dlq-reason',
  topic: 'atp-dlq-topic',
  partition: 'atp-dlq-partition',
  offset: 'atp-dlq-offset',
  timestampMs: 'atp-dlq-timestamp-ms',
  deadLetteredAtMs: 'atp-dlq-at-ms',
} as const;

/** acks=-1: a dead letter counts as kept only once every in-sync replica has it. */
const ACKS_ALL = -1;

export interface KafkaDeadLetterSinkConfig {
  brokers: string[];
  clientId: string;
  topic: string;
  logger: Logger;
  socketFactory?: SocketFactory;
}

export class KafkaDeadLetterSink implements DeadLetterSink {
  private readonly producer: Producer;

  constructor(
    private readonly config: KafkaDeadLetterSinkConfig,
    private readonly clock: () => number = Date.now,
  ) {
    const kafka = createKafkaClient({
      brokers: config.brokers,
      clientId: `${config.clientId}-dlq`,
      logger: config.logger,
      socketFactory: config.socketFactory,
    });
    this.producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
    });
  }

  async start(): Promise<void> {
    await this.producer.connect();
  }

  async stop(): Promise<void> {
    await this.producer.disconnect();
  }

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const now = String(this.clock());
    await this.producer.send({
      topic: this.config.topic,
      acks: ACKS_ALL,
      messages: letters.map((l) => {
        const headers: IHeaders = {
          [DLQ_HEADERS.code]: l.code,
          [DLQ_HEADERS.reason]: l.reason,
          [DLQ_HEADERS.topic]: l.topic,
          [DLQ_HEADERS.partition]: String(l.partition),
          [DLQ_HEADERS.offset]: l.offset,
          [DLQ_HEADERS.timestampMs]: String(l.timestampMs),
          [DLQ_HEADERS.deadLetteredAtMs]: now,
        };
        if (l.field !== null) headers[DLQ_HEADERS.field] = l.field;
        return { key: l.key, value: l.value, headers };
      }),
    });
  }
}
