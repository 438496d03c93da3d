/**
 * Where a replay sends events. Kafka: the region's topic, key = eventKey(e),
 * kafkajs's default (murmur2) partitioner, acks from all in-sync replicas,
 * a few produce requests in flight. Memory: the sidecar's embedded feature
 * store, applying exactly what the ingester would, for a state digest
 * without any broker.
 */

import { KafkaEventProducer, type KeyedRecord } from '@mercato/adapters/kafka/kafka-event-producer';
import { MemoryFeatureStore } from '@mercato/adapters/memory/memory-feature-store';
import { AtpError } from '@mercato/platform/errors';
import type { Logger } from '@mercato/platform/logger';
import { encodeEvent, eventKey, type InventoryEvent } from '@mercato/proto/v1/inventory-event';
import { ERR } from '../errors.js';

/** Produce requests awaiting acknowledgement at once; more only queues inside the client. */
export const MAX_IN_FLIGHT_SENDS = 4;
/** Memory sink: give up on expired gaps every this many events (as the ingester does per batch). */
export const MEMORY_FLUSH_EVERY_EVENTS = 4_096;

export interface ReplaySink {
  /** Takes one batch; may return before it is acknowledged (see drain). */
  write(events: readonly InventoryEvent[]): Promise<void>;
  /** Resolves when everything written is acknowledged. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export class KafkaReplaySink implements ReplaySink {
  private readonly inFlight = new Set<Promise<void>>();
  /** The first failed produce request, as the coded error every later call rethrows. */
  private failure: AtpError | null = null;

  private constructor(
    private readonly producer: KafkaEventProducer,
    private readonly topic: string,
  ) {}

  /** Connects the producer; refuses with ATP_ERR_REPLAY_SINK when the brokers cannot be reached. */
  static async open(brokers: string[], topic: string, logger: Logger): Promise<KafkaReplaySink> {
    const producer = new KafkaEventProducer({ brokers, clientId: 'atp-replay', logger });
    try {
      await producer.start();
    } catch (err) {
      throw new AtpError(
        ERR.REPLAY_SINK,
        `cannot reach the brokers: ${(err as Error).message}`,
        '--brokers',
        {
          cause: err,
        },
      );
    }
    return new KafkaReplaySink(producer, topic);
  }

  async write(events: readonly InventoryEvent[]): Promise<void> {
    if (this.failure !== null) throw this.failure;
    while (this.inFlight.size >= MAX_IN_FLIGHT_SENDS) await Promise.race(this.inFlight);
    if (this.failure !== null) throw this.failure;
    const records: KeyedRecord[] = events.map((e) => ({ key: eventKey(e), value: encodeEvent(e) }));
    const p: Promise<void> = this.producer.send(this.topic, records).then(
      () => {
        this.inFlight.delete(p);
      },
      (err: unknown) => {
        this.inFlight.delete(p);
        this.failure ??= new AtpError(ERR.REPLAY_SINK, (err as Error).message ?? String(err), undefined, {
          cause: err,
        });
      },
    );
    this.inFlight.add(p);
  }

  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.failure !== null) throw this.failure;
  }

  async close(): Promise<void> {
    await this.producer.stop();
  }
}

export class MemoryReplaySink implements ReplaySink {
  readonly store = new MemoryFeatureStore();
  private sinceFlush = 0;

  async write(events: readonly InventoryEvent[]): Promise<void> {
    for (const e of events) this.store.apply(e);
    this.sinceFlush += events.length;
    if (this.sinceFlush >= MEMORY_FLUSH_EVERY_EVENTS) {
      this.store.state.flushGaps(this.store.watermarkMs);
      this.sinceFlush = 0;
    }
  }

  async drain(): Promise<void> {}

  async close(): Promise<void> {}
}
