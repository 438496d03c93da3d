/**
 * Dead letters on Kafka, shared by the ingester (`inventory.mutations.<region>.dlq`)
 * and the outcome join (`<topic>.dlq` of each input): the value and key are
 * the original record's, untouched, so a fixed record can be re-driven as is;
 * why it was rejected and where it came from travel in headers (names in
 * DLQ_HEADERS, documented in proto/v1/inventory_event.md). A send resolves
 * only once every in-sync replica has the letters: the caller applies the
 * rest of its batch after that, so a crash re-sends, never loses one.
 */
import type { Logger } from '@mercato/platform/logger';
import { type IHeaders, Partitioners, type Producer } from 'kafkajs';
import { createKafkaClient, type SocketFactory } from './kafka-client.js';
import type { KafkaSecurity } from './kafka-security.js';

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

/** One rejected record, addressed to its dead-letter topic. */
export interface KafkaDeadLetter {
  /** The dead-letter topic to write to. */
  dlqTopic: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
  code: string;
  /** The offending field; null when the whole record is at fault and no field applies. */
  field: string | null;
  reason: string;
  /** Where the record was read: topic, partition, offset, and its timestamp when known. */
  sourceTopic: string;
  partition: number;
  offset: string;
  timestampMs?: number;
}

export interface KafkaDeadLetterProducerConfig {
  brokers: string[];
  clientId: string;
  logger: Logger;
  socketFactory?: SocketFactory;
  security?: KafkaSecurity | null;
}

export class KafkaDeadLetterProducer {
  private readonly producer: Producer;
  private connected: Promise<void> | null = null;

  constructor(
    config: KafkaDeadLetterProducerConfig,
    private readonly clock: () => number = Date.now,
  ) {
    const kafka = createKafkaClient({
      brokers: config.brokers,
      clientId: `${config.clientId}-dlq`,
      logger: config.logger,
      ...(config.socketFactory === undefined ? {} : { socketFactory: config.socketFactory }),
      security: config.security ?? null,
    });
    this.producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
    });
  }

  /** Connects now (optional: the first send connects otherwise). */
  async start(): Promise<void> {
    this.connected ??= this.producer.connect();
    await this.connected;
  }

  async send(letters: readonly KafkaDeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.start();
    const now = String(this.clock());
    const byTopic = new Map<string, KafkaDeadLetter[]>();
    for (const l of letters) {
      let list = byTopic.get(l.dlqTopic);
      if (list === undefined) {
        list = [];
        byTopic.set(l.dlqTopic, list);
      }
      list.push(l);
    }
    await this.producer.sendBatch({
      acks: ACKS_ALL,
      topicMessages: [...byTopic].map(([topic, ls]) => ({
        topic,
        messages: ls.map((l) => ({ key: l.key, value: l.value, headers: headersOf(l, now) })),
      })),
    });
  }

  async stop(): Promise<void> {
    if (this.connected === null) return;
    this.connected = null;
    await this.producer.disconnect();
  }
}

function headersOf(l: KafkaDeadLetter, now: string): IHeaders {
  const headers: IHeaders = {
    [DLQ_HEADERS.code]: l.code,
    [DLQ_HEADERS.reason]: l.reason,
    [DLQ_HEADERS.topic]: l.sourceTopic,
    [DLQ_HEADERS.partition]: String(l.partition),
    [DLQ_HEADERS.offset]: l.offset,
    [DLQ_HEADERS.deadLetteredAtMs]: now,
  };
  if (l.field !== null) headers[DLQ_HEADERS.field] = l.field;
  if (l.timestampMs !== undefined) headers[DLQ_HEADERS.timestampMs] = String(l.timestampMs);
  return headers;
}
