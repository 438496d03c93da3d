/**
 * DeadLetterSink on a Kafka topic (`inventory.mutations.<region>.dlq`),
 * through the shared dead-letter producer (@mercato/adapters/kafka): the
 * original record untouched, the reason and origin in headers (DLQ_HEADERS,
 * documented in proto/v1/inventory_event.md), acks from all in-sync replicas.
 */

import {
  DLQ_HEADERS,
  KafkaDeadLetterProducer,
  type KafkaDeadLetterProducerConfig,
} from '@mercato/adapters/kafka/kafka-dead-letter-producer';
import type { DeadLetter, DeadLetterSink } from '../../ports.js';

export { DLQ_HEADERS };

export interface KafkaDeadLetterSinkConfig extends KafkaDeadLetterProducerConfig {
  topic: string;
}

export class KafkaDeadLetterSink implements DeadLetterSink {
  private readonly producer: KafkaDeadLetterProducer;

  constructor(
    private readonly config: KafkaDeadLetterSinkConfig,
    clock: () => number = Date.now,
  ) {
    this.producer = new KafkaDeadLetterProducer(config, clock);
  }

  start(): Promise<void> {
    return this.producer.start();
  }

  stop(): Promise<void> {
    return this.producer.stop();
  }

  send(letters: readonly DeadLetter[]): Promise<void> {
    return this.producer.send(
      letters.map((l) => ({
        dlqTopic: this.config.topic,
        key: l.key,
        value: l.value,
        code: l.code,
        field: l.field,
        reason: l.reason,
        sourceTopic: l.topic,
        partition: l.partition,
        offset: l.offset,
        timestampMs: l.timestampMs,
      })),
    );
  }
}
