/**
 * Dead letters on Kafka: `<topic>.dlq` of the topic the record came from
 * (proto/v1/topics.ts deadLetterTopic), through the producer the ingester
 * uses too (@mercato/adapters/kafka): value and key untouched, the reason in
 * headers (DLQ_HEADERS), acks from all in-sync replicas.
 */
import {
  DLQ_HEADERS,
  KafkaDeadLetterProducer,
  type KafkaDeadLetterProducerConfig,
} from '@mercato/adapters/kafka/kafka-dead-letter-producer';
import { deadLetterTopic } from '@mercato/proto/v1/topics';
import type { DeadLetter } from '../join/outcome-join.js';
import type { DeadLetterSink } from './dead-letter-sink.js';

export { DLQ_HEADERS };
export type KafkaDeadLetterSinkConfig = KafkaDeadLetterProducerConfig;

export class KafkaDeadLetterSink implements DeadLetterSink {
  private readonly producer: KafkaDeadLetterProducer;

  constructor(config: KafkaDeadLetterSinkConfig, clock: () => number = Date.now) {
    this.producer = new KafkaDeadLetterProducer(config, clock);
  }

  send(letters: readonly DeadLetter[]): Promise<void> {
    return this.producer.send(
      letters.map((l) => ({
        dlqTopic: deadLetterTopic(l.source),
        key: l.key,
        value: l.value,
        code: l.code,
        field: l.field,
        reason: l.reason,
        sourceTopic: l.source,
        partition: l.partition,
        offset: String(l.offset),
      })),
    );
  }

  stop(): Promise<void> {
    return this.producer.stop();
  }
}
