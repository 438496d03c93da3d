/**
 * The world's OutcomeSink on Kafka: every order outcome of a real decision
 * goes to `order.outcomes.<region>` (key = its decision id, value = the wire
 * JSON, timestamp = when it happened in world time), and every outcome to
 * the run's NDJSON log (what `atp-batch features --outcomes-file` reads).
 *
 * Warm-up outcomes (decision ids `sim-naive-...`: promises the simulator's
 * own naive routing made before the live phase) go to the file only by
 * default: no data plane made those decisions, so the outcome join must not
 * see them, while the batch job still learns handling adherence from them.
 * `publishWarmup: true` sends them to the topic too.
 */
import { encodeOutcome, type OrderOutcome, outcomeKey } from '@mercato/proto/v1/order-outcome';
import { outcomesTopic } from '@mercato/proto/v1/topics';
import { NAIVE_DECISION_PREFIX } from '../../simulator/demand-process.js';
import type { OutcomeSink } from '../world-ports.js';
import { type KafkaSinkOptions, TopicSink } from './topic-writer.js';

export const OUTCOME_SINK_CLIENT_ID = 'atp-world-outcomes';

export interface KafkaOutcomeSinkOptions extends KafkaSinkOptions {
  /** Also produce the warm-up's outcomes (default false: file only). */
  publishWarmup?: boolean;
}

/** Whether an outcome belongs to a promise of the simulator's warm-up routing, not a data plane decision. */
export function isWarmupOutcome(o: OrderOutcome): boolean {
  return o.decisionId.startsWith(NAIVE_DECISION_PREFIX);
}

export class KafkaOutcomeSink extends TopicSink implements OutcomeSink {
  private readonly publishWarmup: boolean;
  /** Outcomes kept out of the topic (warm-up), logged only. */
  fileOnly = 0;

  constructor(o: KafkaOutcomeSinkOptions) {
    super(outcomesTopic(o.region), o, OUTCOME_SINK_CLIENT_ID);
    this.publishWarmup = o.publishWarmup ?? false;
  }

  async send(batch: readonly OrderOutcome[]): Promise<void> {
    if (batch.length === 0) return;
    const published = this.publishWarmup ? batch : batch.filter((o) => !isWarmupOutcome(o));
    this.fileOnly += batch.length - published.length;
    const records = published.map((o) => ({
      key: outcomeKey(o),
      value: encodeOutcome(o),
      timestamp: String(o.resolvedAtMs),
    }));
    await this.writer.write(records, batch.map(encodeOutcome));
  }
}
