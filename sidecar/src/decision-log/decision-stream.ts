/**
 * The durable decision stream (`atp.decision.v1` on `atp.decisions.<region>`,
 * proto/v1/decision_event.md): each decision-log record cut down to what the
 * outcome join needs, with no user-level data (no request id, no zone).
 *
 * Like the decision log, a bounded buffer sits between the hot path and the
 * sink: `push` is O(1) and never waits or throws; a periodic flush maps and
 * hands batches to the sink. When the buffer is full, or a batch cannot be
 * published, records are dropped and counted
 * (`atp_decision_stream_dropped_total`); published ones are counted in
 * `atp_decision_stream_published_total`.
 */
import type { KeyedRecord } from '@mercato/adapters/event-producer';
import type { NodeType } from '@mercato/proto/v1/decision';
import {
  type DecisionEvent,
  type DecisionEventItem,
  decisionEventKey,
  encodeDecisionEvent,
  NO_ARM,
} from '@mercato/proto/v1/decision-event';
import { armTag } from '@mercato/proto/v1/experiment';
import { Counter, type Registry } from 'prom-client';
import type { DecisionSink } from '../decision/ports.js';
import { BoundedBatchBuffer } from './bounded-batch-buffer.js';
import type { DecisionLogRecord, ItemLog } from './decision-log-record.js';

export const DECISION_STREAM_CAPACITY = 16_384;
export const DECISION_STREAM_FLUSH_MS = 200;
/** Events handed to the sink per publish. */
export const DECISION_STREAM_BATCH = 1_024;
/** `stop` waits this long for the last publish (a broker that is down must not hold shutdown). */
export const DECISION_STREAM_STOP_FLUSH_MS = 5_000;

/** Where encoded events go, keyed by decision id. `publish` resolves once the sink accepted them. */
export interface DecisionEventSink {
  publish(batch: readonly KeyedRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface DecisionStreamOptions {
  /** Node type from the node directory (undefined: unknown node). */
  nodeType: (nodeId: string) => NodeType | undefined;
  /** Registry the two counters are registered on (the sidecar's /metrics). */
  registry?: Registry;
  capacity?: number;
  flushMs?: number;
}

export interface DecisionStreamStats {
  published: number;
  dropped: number;
  sinkErrors: number;
}

export class DecisionStream implements DecisionSink {
  private readonly buffer: BoundedBatchBuffer<DecisionLogRecord>;

  constructor(
    private readonly sink: DecisionEventSink,
    private readonly opts: DecisionStreamOptions,
  ) {
    const registers = opts.registry === undefined ? null : [opts.registry];
    const droppedTotal =
      registers === null
        ? null
        : new Counter({
            name: 'atp_decision_stream_dropped_total',
            help: 'Decision events dropped (stream buffer full or publish failed)',
            registers,
          });
    const publishedTotal =
      registers === null
        ? null
        : new Counter({
            name: 'atp_decision_stream_published_total',
            help: 'Decision events accepted by the decision stream sink',
            registers,
          });
    this.buffer = new BoundedBatchBuffer<DecisionLogRecord>({
      name: 'decision-stream-flush',
      capacity: opts.capacity ?? DECISION_STREAM_CAPACITY,
      flushMs: opts.flushMs ?? DECISION_STREAM_FLUSH_MS,
      batch: DECISION_STREAM_BATCH,
      // A broker that is down must not hold shutdown: what is late is dropped (counted).
      stopFlushMs: DECISION_STREAM_STOP_FLUSH_MS,
      // Events are built here, at flush time, off the request path.
      deliver: (batch) =>
        this.sink.publish(
          batch.map((r) => {
            const e = toDecisionEvent(r, this.opts.nodeType);
            return { key: decisionEventKey(e), value: encodeDecisionEvent(e) };
          }),
        ),
      onDropped: (n) => droppedTotal?.inc(n),
      onDelivered: (n) => publishedTotal?.inc(n),
    });
  }

  get stats(): DecisionStreamStats {
    const s = this.buffer.stats;
    return { published: s.delivered, dropped: s.dropped, sinkErrors: s.sinkErrors };
  }

  /** Starts the periodic flush; idempotent. */
  start(): void {
    this.buffer.start();
  }

  /** Queues a record, or drops it (counted) when the buffer is full. Never throws, never waits. */
  push(r: DecisionLogRecord): void {
    this.buffer.push(r);
  }

  get pending(): number {
    return this.buffer.pending;
  }

  /** Publishes queued records; concurrent calls share one flush. */
  flush(): Promise<void> {
    return this.buffer.flush();
  }

  /** Stops the periodic flush, publishes what is queued (for at most DECISION_STREAM_STOP_FLUSH_MS), closes the sink. */
  async stop(): Promise<void> {
    await this.buffer.stop();
    await this.sink.close().catch(() => undefined);
  }
}

/** Engine sink that hands each record to every present sink (decision log and decision stream). */
export function fanOutSinks(...sinks: (DecisionSink | null | undefined)[]): DecisionSink | null {
  const present = sinks.filter((s): s is DecisionSink => s !== null && s !== undefined);
  if (present.length <= 1) return present[0] ?? null;
  return {
    push(r) {
      for (const s of present) s.push(r);
    },
  };
}

/** The mapping of proto/v1/decision_event.md: a decision-log record to an `atp.decision.v1` event. */
export function toDecisionEvent(
  r: DecisionLogRecord,
  nodeType: (nodeId: string) => NodeType | undefined,
): DecisionEvent {
  return {
    decisionId: r.decisionId,
    region: r.region,
    tsMs: Math.round(r.ts),
    channel: r.channel,
    mode: r.mode,
    enforced: r.enforced,
    arm:
      r.experiment === undefined || r.arm === undefined || r.arm === NO_ARM
        ? NO_ARM
        : armTag(r.experiment, r.arm),
    ...(r.experiment === undefined ? {} : { experiment: r.experiment }),
    modelVersion: r.modelVersion,
    rulesVersion: r.rulesVersion,
    degradations: [...r.degradations],
    items: r.items.map((it) => toEventItem(it, nodeType)),
  };
}

function toEventItem(it: ItemLog, nodeType: (nodeId: string) => NodeType | undefined): DecisionEventItem {
  const promised = it.final.available;
  const node = promised && it.final.node !== '' ? it.final.node : (it.candidates[0]?.node ?? it.final.node);
  // A node the directory does not know (anymore) keeps its id; `warehouse` is the contract's default type.
  const type = node === '' ? 'none' : (nodeType(node) ?? 'warehouse');
  const p = it.final.p;
  return {
    sku: it.sku,
    qty: it.qty,
    hot: it.hot,
    promised,
    node,
    nodeType: type,
    pFulfill: it.candidates.length === 0 || !Number.isFinite(p) ? null : Math.min(1, Math.max(0, p)),
    modelAvailable: it.model === null ? null : it.model.available,
    baselineAvailable: it.baseline.available,
  };
}
