/**
 * What the world's two Kafka sinks share: one region topic, a producer
 * (its own KafkaEventProducer on `brokers`, or one lent by the caller, such
 * as the in-process MemoryEventLog in tests), and the run's NDJSON log of
 * everything it accepted. A batch is produced first (acks from every
 * in-sync replica) and then logged, so the file never holds a record the
 * topic refused.
 */
import type { EventProducer, KeyedRecord } from '@mercato/adapters/event-producer';
import { KafkaEventProducer } from '@mercato/adapters/kafka/kafka-event-producer';
import { AtpError } from '@mercato/platform/errors';
import { type Logger, silentLogger } from '@mercato/platform/logger';
import { ERR } from '../../errors.js';
import { NdjsonLog } from './ndjson-log.js';

/** Options both sinks take. Exactly one of `brokers` and `producer`. */
/** Batches queued at most before write() waits for them (a slow broker slows the world, never loses a batch). */
export const MAX_QUEUED_BATCHES = 256;

export interface KafkaSinkOptions {
  region: string;
  /** Bootstrap brokers: the sink owns a producer (started and stopped with it). */
  brokers?: readonly string[];
  /** Or a producer the caller owns (already started; the sink never stops it). */
  producer?: EventProducer;
  /** NDJSON file appended with every record accepted; null or absent: none. */
  file?: string | null;
  /** kafkajs' own warnings go here (default: silent). */
  logger?: Logger;
  clientId?: string;
}

interface OwnedProducer extends EventProducer {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export class TopicWriter {
  private readonly producer: EventProducer;
  private readonly owned: OwnedProducer | null;
  private readonly log: NdjsonLog | null;
  private started = false;
  /** The batches accepted and not yet produced, in order: each starts when the previous one ended. */
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  /** The first produce that failed; every later write rethrows it. */
  private failure: Error | null = null;
  /** Records produced to the topic so far (file-only records excluded). */
  produced = 0;

  constructor(
    readonly topic: string,
    o: KafkaSinkOptions,
    defaultClientId: string,
  ) {
    if ((o.brokers === undefined) === (o.producer === undefined)) {
      throw new AtpError(ERR.WORLD_CONFIG, 'a Kafka sink takes either brokers or a producer', 'brokers');
    }
    if (o.producer !== undefined) {
      this.producer = o.producer;
      this.owned = null;
    } else {
      const owned = new KafkaEventProducer({
        brokers: [...(o.brokers ?? [])],
        clientId: o.clientId ?? defaultClientId,
        logger: o.logger ?? silentLogger(),
      });
      this.producer = owned;
      this.owned = owned;
    }
    this.log = o.file === undefined || o.file === null ? null : new NdjsonLog(o.file);
  }

  /** Lines written to the NDJSON log so far. */
  get logged(): number {
    return this.log?.lines ?? 0;
  }

  /** Connects an owned producer and opens the log; ATP_ERR_WORLD_IO when either fails. Idempotent. */
  async start(): Promise<void> {
    if (this.started) return;
    try {
      await this.owned?.start();
    } catch (err) {
      throw new AtpError(
        ERR.WORLD_IO,
        `cannot reach the brokers for ${this.topic}: ${message(err)}`,
        'brokers',
        {
          cause: err,
        },
      );
    }
    await this.log?.start();
    this.started = true;
  }

  /**
   * Accepts a batch: it is produced (then logged) after every batch accepted
   * before it, and this resolves once it is queued, not acknowledged, so the
   * world's step never waits on a broker round trip; it waits only while
   * MAX_QUEUED_BATCHES are still queued (backpressure). A produce that
   * failed fails this write and every later one (ATP_ERR_WORLD_IO).
   */
  async write(records: readonly KeyedRecord[], lines: readonly string[]): Promise<void> {
    if (!this.started) throw new AtpError(ERR.WORLD_IO, `the sink of ${this.topic} was not started`);
    if (this.failure !== null) throw this.failure;
    this.queued++;
    this.chain = this.chain.then(async () => {
      try {
        if (this.failure === null) await this.writeNow(records, lines);
      } catch (err) {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      } finally {
        this.queued--;
      }
    });
    if (this.queued >= MAX_QUEUED_BATCHES) await this.flushed();
  }

  /** Resolves once every batch accepted so far is produced and logged; rejects with the first failure. */
  async flushed(): Promise<void> {
    await this.chain;
    if (this.failure !== null) throw this.failure;
  }

  /** Produces `records` (none: file only), then logs `lines`. ATP_ERR_WORLD_IO when the topic refuses. */
  private async writeNow(records: readonly KeyedRecord[], lines: readonly string[]): Promise<void> {
    if (records.length > 0) {
      try {
        await this.producer.send(this.topic, records);
      } catch (err) {
        throw new AtpError(ERR.WORLD_IO, `produce to ${this.topic} failed: ${message(err)}`, undefined, {
          cause: err,
        });
      }
      this.produced += records.length;
    }
    await this.log?.append(lines);
  }

  /** Disconnects an owned producer and closes the log. Idempotent. */
  async stop(): Promise<void> {
    const wasStarted = this.started;
    this.started = false;
    await this.chain;
    try {
      if (wasStarted) await this.owned?.stop();
    } finally {
      await this.log?.stop();
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What every world sink over one topic shares: its writer's lifecycle and counters. */
export abstract class TopicSink {
  protected readonly writer: TopicWriter;

  constructor(topic: string, o: KafkaSinkOptions, clientId: string) {
    this.writer = new TopicWriter(topic, o, clientId);
  }

  get topic(): string {
    return this.writer.topic;
  }

  /** Records produced so far. */
  get sent(): number {
    return this.writer.produced;
  }

  /** Lines in the NDJSON log so far. */
  get logged(): number {
    return this.writer.logged;
  }

  start(): Promise<void> {
    return this.writer.start();
  }

  stop(): Promise<void> {
    return this.writer.stop();
  }

  /** Resolves once every batch sent so far is produced and logged (send() only queues). */
  flushed(): Promise<void> {
    return this.writer.flushed();
  }
}
