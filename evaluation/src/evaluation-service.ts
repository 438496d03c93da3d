/**
 * The outcome join as a service: a record source (Kafka or files), the join
 * over its SQLite store, a dead-letter sink and the HTTP edge (metrics and
 * the report), with one start and one bounded, idempotent stop. Built by
 * main.ts from validated flags, and by tests from a config directly.
 *
 * Per batch: decode -> dead letters made durable -> effects + offset in one
 * SQLite transaction -> (Kafka) offset committed. See outcome-join.ts.
 */
import { toAtpError } from '@mercato/platform/errors';
import { settleWithin } from '@mercato/platform/lifecycle';
import type { Logger } from '@mercato/platform/logger';
import type { DeadLetterSink } from './dead-letters/dead-letter-sink.js';
import { EvaluationHttpServer } from './evaluation-http-server.js';
import { createEvaluationMetrics, type EvaluationMetrics } from './evaluation-metrics.js';
import { ControlPlaneClient, type ControlPlaneClientOptions } from './guardrail/control-plane-client.js';
import { assessmentToJson } from './guardrail/experiment-assessment.js';
import { ExperimentMonitor } from './guardrail/experiment-monitor.js';
import { type JoinConfig, OutcomeJoin, type RecordBatch } from './join/outcome-join.js';
import { SqliteJoinStore } from './join/sqlite-join-store.js';
import { buildReport } from './report/evaluation-report.js';
import type { RecordSource } from './sources/record-source.js';

/** Each stop step (source, sink, HTTP) gets this long before it is abandoned. */
export const STOP_STEP_DEADLINE_MS = 10_000;

export interface EvaluationServiceParts {
  join: JoinConfig;
  dbPath: string;
  /** Item rows kept for outcome lookups by decision id (`--outcome-lookup-rows`; default OUTCOME_LOOKUP_ROWS). */
  outcomeLookupRows?: number;
  source: RecordSource;
  deadLetters: DeadLetterSink;
  /** null: no HTTP edge. */
  http: { port: number; host: string } | null;
  /** File runs: close every window once the input is exhausted. */
  closeAllAtEnd: boolean;
  logger: Logger;
  /** The experiment guardrail monitor's control plane (--control-plane); null/absent: no monitor. */
  guardrail?: (ControlPlaneClientOptions & { periodMs?: number }) | null;
}

export class EvaluationService {
  readonly store: SqliteJoinStore;
  readonly join: OutcomeJoin;
  readonly metrics: EvaluationMetrics;
  private readonly http: EvaluationHttpServer | null;
  /** Null without --control-plane. */
  readonly monitor: ExperimentMonitor | null;
  private stopping: Promise<'done' | 'late'> | null = null;
  httpPort = 0;

  constructor(private readonly parts: EvaluationServiceParts) {
    this.store = new SqliteJoinStore(
      parts.dbPath,
      parts.outcomeLookupRows === undefined ? {} : { outcomeLookupRows: parts.outcomeLookupRows },
    );
    this.join = new OutcomeJoin(this.store, parts.join);
    this.metrics = createEvaluationMetrics(this.store);
    const g = parts.guardrail ?? null;
    this.monitor =
      g === null
        ? null
        : new ExperimentMonitor({
            client: new ControlPlaneClient(g),
            report: () => buildReport(this.store),
            logger: parts.logger,
            ...(g.periodMs === undefined ? {} : { periodMs: g.periodMs }),
          });
    const experiment = (id: string) => {
      const a = this.monitor?.assessments.get(id);
      return a === undefined ? undefined : assessmentToJson(a);
    };
    this.http =
      parts.http === null ? null : new EvaluationHttpServer(this.store, this.metrics.registry, experiment);
  }

  async start(): Promise<void> {
    if (this.http !== null && this.parts.http !== null) {
      this.httpPort = await this.http.start(this.parts.http.port, this.parts.http.host);
    }
    await this.parts.source.start(
      (batch) => this.onBatch(batch),
      (ends) => this.join.registerPartitions(ends),
    );
    await this.monitor?.start();
  }

  /** Resolves when a finite source is done and (with closeAllAtEnd) every window closed. */
  async finished(): Promise<void> {
    await this.parts.source.finished;
    if (this.parts.closeAllAtEnd) this.join.closeAll();
  }

  private async onBatch(batch: RecordBatch): Promise<void> {
    try {
      const prepared = this.join.prepare(batch);
      for (const l of prepared.deadLetters) {
        this.parts.logger.warn(
          { code: l.code, field: l.field, source: l.source, partition: l.partition, offset: l.offset },
          `dead-lettered: ${l.reason}`,
        );
      }
      await this.parts.deadLetters.send(prepared.deadLetters);
      this.join.apply(prepared);
      this.metrics.batches.inc();
    } catch (err) {
      this.metrics.batchFailures.inc();
      const e = toAtpError(err);
      this.parts.logger.error({ code: e.code, source: batch.source, partition: batch.partition }, e.message);
      throw e;
    }
  }

  /** Stops the source (no batch in flight afterwards), the sink and the HTTP edge, then closes the store. */
  stop(): Promise<'done' | 'late'> {
    this.stopping ??= (async () => {
      const steps = [
        await settleWithin(this.monitor?.stop() ?? Promise.resolve(), STOP_STEP_DEADLINE_MS),
        await settleWithin(this.parts.source.stop(), STOP_STEP_DEADLINE_MS),
        await settleWithin(this.parts.deadLetters.stop(), STOP_STEP_DEADLINE_MS),
        await settleWithin(this.http?.stop() ?? Promise.resolve(), STOP_STEP_DEADLINE_MS),
      ];
      this.store.close();
      return steps.includes('late') ? 'late' : 'done';
    })();
    return this.stopping;
  }
}
