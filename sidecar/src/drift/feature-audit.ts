/**
 * The served side of the skew audit (issue 14 item 3): one scored request in
 * `every` has the feature vectors it was actually served written to an
 * NDJSON audit log (`serve --feature-audit FILE --feature-audit-rate R`),
 * with the watermarks the offline audit replays the event log to
 * (proto/v1/feature-audit.ts). Sampling is a counter, not a random draw, so
 * the hot path pays one increment per scored request; records go through the
 * same bounded, dropping buffer as the decision log.
 */
import { type FeatureAuditRecord, featureAuditToJson } from '@mercato/proto/v1/feature-audit';
import { Counter, type Registry } from 'prom-client';
import type { ServedFeatureAudit } from '../decision/ports.js';
import { BoundedBatchBuffer } from '../decision-log/bounded-batch-buffer.js';
import type { DecisionLogSink } from '../decision-log/decision-log.js';

export const FEATURE_AUDIT_CAPACITY = 8_192;
export const FEATURE_AUDIT_FLUSH_MS = 500;
const FEATURE_AUDIT_BATCH = 512;
/** Default share of scored requests audited. */
export const DEFAULT_FEATURE_AUDIT_RATE = 0.01;

export class FeatureAudit implements ServedFeatureAudit {
  private readonly every: number;
  private seen = 0;
  private readonly buffer: BoundedBatchBuffer<FeatureAuditRecord>;

  constructor(
    private readonly sink: DecisionLogSink,
    readonly region: string,
    rate: number,
    registry: Registry | null,
  ) {
    if (!(rate > 0 && rate <= 1)) throw new RangeError(`feature audit rate must be in (0, 1], got ${rate}`);
    this.every = Math.max(1, Math.round(1 / rate));
    const registers = registry === null ? [] : [registry];
    const written = new Counter({
      name: 'atp_feature_audit_records_total',
      help: 'Served feature vectors written to the feature audit log.',
      registers,
    });
    const dropped = new Counter({
      name: 'atp_feature_audit_dropped_total',
      help: 'Feature audit records dropped (buffer full or the sink failed).',
      registers,
    });
    this.buffer = new BoundedBatchBuffer<FeatureAuditRecord>({
      name: 'feature-audit-flush',
      capacity: FEATURE_AUDIT_CAPACITY,
      flushMs: FEATURE_AUDIT_FLUSH_MS,
      batch: FEATURE_AUDIT_BATCH,
      deliver: (batch) => {
        let text = '';
        for (const r of batch) text += `${JSON.stringify(featureAuditToJson(r))}\n`;
        return this.sink.write(text);
      },
      onDelivered: (n) => written.inc(n),
      onDropped: (n) => dropped.inc(n),
    });
  }

  /** True for one scored request in `every` (called once per scored request). */
  sample(): boolean {
    this.seen = (this.seen + 1) % this.every;
    return this.seen === 0;
  }

  /** Queues one served vector; never waits, never throws. */
  record(r: FeatureAuditRecord): void {
    this.buffer.push(r);
  }

  get stats() {
    return this.buffer.stats;
  }

  start(): void {
    this.buffer.start();
  }

  async stop(): Promise<void> {
    await this.buffer.stop();
    await this.sink.close();
  }

  flush(): Promise<void> {
    return this.buffer.flush();
  }
}
