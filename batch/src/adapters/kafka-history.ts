/**
 * Histories read from the region's Kafka topics (a snapshot from the
 * beginning to the log end at start): inventory events with the broker
 * timestamp as arrival time, and order outcomes.
 */
import { readTopicSnapshot, type TopicReaderOptions } from '@mercato/adapters/kafka/kafka-topic-reader';
import { decodeEvent } from '@mercato/proto/v1/inventory-event';
import { decodeOutcome, type OrderOutcome } from '@mercato/proto/v1/order-outcome';
import { ContractError } from '@mercato/proto/v1/validate';
import type { DeliveredEvent, History, SkippedRecords } from '../ports.js';

function topicHistory<T>(
  topic: string,
  opts: TopicReaderOptions,
  decode: (text: string, timestampMs: number) => T,
): History<T> {
  return {
    name: `kafka:${topic}`,
    async read(onRecord) {
      const skipped: SkippedRecords = { invalid: 0, firstError: null };
      await readTopicSnapshot(topic, opts, (r) => {
        try {
          onRecord(decode(r.value?.toString('utf8') ?? '', r.timestampMs));
        } catch (err) {
          if (!(err instanceof ContractError)) throw err;
          skipped.invalid++;
          skipped.firstError ??= `${topic}[${r.partition}]@${r.offset}: ${err.message}`;
        }
      });
      return skipped;
    },
  };
}

export function kafkaEventHistory(topic: string, opts: TopicReaderOptions): History<DeliveredEvent> {
  return topicHistory(topic, opts, (text, ts) => ({ event: decodeEvent(text), arrivalMs: ts }));
}

export function kafkaOutcomeHistory(topic: string, opts: TopicReaderOptions): History<OrderOutcome> {
  return topicHistory(topic, opts, (text) => decodeOutcome(text));
}
