/**
 * Decision-stream sinks (`serve --decision-stream`): Kafka (`kafka://h:p[,h:p]`,
 * topic `atp.decisions.<region>`, keyed by decision id, acks=all) or an NDJSON
 * file (`file:PATH`, appended; what `atp-evaluate run --decisions-file` reads).
 *
 * Decision records are user-level data: each sink holds a residency
 * clearance for its destination (proto/v1/residency.ts), minted by the
 * sidecar's guard, so a sink cannot be built for another region's topic or
 * brokers (ResidencyError naming `decision-stream`).
 */
import { KafkaEventProducer, type KeyedRecord } from '@mercato/adapters/kafka/kafka-event-producer';
import type { Logger } from '@mercato/platform/logger';
import { defaultRegionRegistry } from '@mercato/proto/v1/region-registry';
import { type Clearance, ResidencyGuard } from '@mercato/proto/v1/residency';
import { decisionsTopic } from '@mercato/proto/v1/topics';
import { NdjsonFileSink } from './decision-log-sinks.js';
import type { DecisionEventSink } from './decision-stream.js';

/** `--decision-stream`, parsed: where decision events go. */
export type DecisionStreamTarget = { kind: 'kafka'; brokers: string[] } | { kind: 'file'; path: string };

/** The field residency refusals of the decision stream name. */
const FIELD = 'decision-stream';

/** The guard of a sink built without one: the default registry, in `region`. */
function guardOf(region: string | ResidencyGuard): ResidencyGuard {
  return typeof region === 'string' ? new ResidencyGuard(defaultRegionRegistry(), region) : region;
}

export class KafkaDecisionSink implements DecisionEventSink {
  private readonly producer: KafkaEventProducer;
  private connected: Promise<void> | null = null;
  readonly topic: string;
  readonly clearance: Clearance<'user-level'>;

  /** `at`: the sidecar's residency guard (or its region, checked against the default registry). */
  constructor(brokers: string[], at: string | ResidencyGuard, logger: Logger) {
    const guard = guardOf(at);
    const region = guard.region;
    this.topic = decisionsTopic(region);
    this.clearance = guard.clear('user-level', { kind: 'topic', topic: this.topic, brokers }, FIELD);
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
  readonly clearance: Clearance<'user-level'> | null;
  /** A file of the sidecar's own disk: in-region (the clearance records it when a guard is given). */
  constructor(path: string, guard?: ResidencyGuard) {
    this.clearance = guard === undefined ? null : guard.clear('user-level', { kind: 'file', path }, FIELD);
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
  at: string | ResidencyGuard,
  logger: Logger,
): DecisionEventSink {
  const guard = guardOf(at);
  return target.kind === 'kafka'
    ? new KafkaDecisionSink(target.brokers, guard, logger)
    : new NdjsonDecisionSink(target.path, guard);
}
