/**
 * Decision-stream sinks (`serve --decision-stream`): Kafka (`kafka://h:p[,h:p]`,
 * topic `atp.decisions.<region>`, keyed by decision id, acks=all) or an NDJSON
 * file (`file:PATH`, appended; what `atp-evaluate run --decisions-file` reads).
 */
import { KafkaEventProducer, type KeyedRecord } from '@mercato/adapters/kafka/kafka-event-producer';
import type { Logger } from '@mercato/platform/logger';
import { decisionsTopic } from '@mercato/proto/v1/topics';
import { NdjsonFileSink } from './decision-log-sinks.js';
import type { DecisionEventSink } from './decision-stream.js';

/** `--decision-stream`, parsed: where decision events go. */
export type DecisionStreamTarget = { kind: 'kafka'; brokers: string[] } | { kind: 'file'; path: string };

export class KafkaDecisionSink implements DecisionEventSink {
  private readonly producer: KafkaEventProducer;
  private connected: Promise<void> | null = null;
  readonly topic: string;

  constructor(brokers: string[], region: string, logger: Logger) {
    this.topic = decisionsTopic(region);
    this.producer = new KafkaEventProducer({ brokers, clientId: `atp-sidecar-decisions-${region}`, logger });
  }

  async publish(batch: readonly KeyedRecord[]): Promise<void> {
    // Connects on first use (off the request path); a failed connect is retried by the next batch.
    this.connected ??= this.producer.start().catch((err: unknown) => {
      this.connected = null;
      throw err;
    });
    await this.connected;
    await this.producer.send(this.topic, batch);
  }

  async close(): Promise<void> {
    if (this.connected === null) return;
    await this.connected.catch(() => undefined);
    await this.producer.stop();
  }
}

export class NdjsonDecisionSink implements DecisionEventSink {
  private readonly file: NdjsonFileSink;
  constructor(path: string) {
    this.file = new NdjsonFileSink(path);
  }
  publish(batch: readonly KeyedRecord[]): Promise<void> {
    let text = '';
    for (const r of batch) text += `${r.value.toString()}\n`;
    return this.file.write(text);
  }
  close(): Promise<void> {
    return this.file.close();
  }
}

export function createDecisionEventSink(
  target: DecisionStreamTarget,
  region: string,
  logger: Logger,
): DecisionEventSink {
  return target.kind === 'kafka'
    ? new KafkaDecisionSink(target.brokers, region, logger)
    : new NdjsonDecisionSink(target.path);
}
