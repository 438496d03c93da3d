/**
 * Produces inventory events to a topic with key = eventKey(e) and kafkajs's
 * DefaultPartitioner (murmur2, as the Java client and the sidecar's
 * partitionForKey compute it). Used by the replay tool and the benchmark;
 * the ingester never produces events.
 */

import type { Logger } from '@mercato/platform/logger';
import { Partitioners, type Producer } from 'kafkajs';
import type { EventProducer, KeyedRecord } from '../event-producer.js';
import { createKafkaClient, type SocketFactory } from './kafka-client.js';

export type { KeyedRecord } from '../event-producer.js';

const ACKS_ALL = -1;

export interface KafkaEventProducerConfig {
  brokers: string[];
  clientId: string;
  logger: Logger;
  socketFactory?: SocketFactory;
}

export class KafkaEventProducer implements EventProducer {
  private readonly producer: Producer;

  constructor(config: KafkaEventProducerConfig) {
    const kafka = createKafkaClient(config);
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

  /** Resolves once all in-sync replicas acknowledged every record. */
  async send(topic: string, records: readonly KeyedRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.producer.send({ topic, acks: ACKS_ALL, messages: records as KeyedRecord[] });
  }
}
