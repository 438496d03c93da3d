/**
 * The guardrail monitor: on a fixed period, while the join keeps counting
 * outcomes, it reads the experiments from the control plane, assesses each
 * one that is not a draft (experiment-assessment.ts) and, when the oversell
 * guardrail fires for a treatment arm, stops that arm through the admin API
 * (audited there under the monitor's token, the reason naming the
 * statistic). Sidecars receive the stop with the next snapshot push. A
 * person reads the same assessments on GET /v1/experiments/<id>
 * (`atpctl experiment report`).
 *
 * A control plane that cannot be reached is retried on the next period; the
 * sequential tests keep their evidence meanwhile (the counts are cumulative).
 */
import { toAtpError } from '@mercato/platform/errors';
import type { Logger } from '@mercato/platform/logger';
import { Periodic } from '@mercato/platform/periodic';
import type { EvaluationReport } from '../report/evaluation-report.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import { assessExperiment, type ExperimentAssessment } from './experiment-assessment.js';

/** How often the monitor looks: well inside the 2 s from a decision to stop to sidecars serving it. */
export const GUARDRAIL_CHECK_MS = 1_000;

export interface GuardrailStop {
  experiment: string;
  arm: string;
  reason: string;
  /** When the monitor decided (wall clock ms), and when the control plane accepted the stop. */
  decidedAtMs: number;
  acceptedAtMs: number;
}

export interface ExperimentMonitorOptions {
  client: ControlPlaneClient;
  /** The join's figures now (buildReport over the service's store). */
  report: () => EvaluationReport;
  logger: Logger;
  periodMs?: number;
  clock?: () => number;
}

export class ExperimentMonitor {
  readonly assessments = new Map<string, ExperimentAssessment>();
  readonly stops: GuardrailStop[] = [];
  private readonly periodic: Periodic;
  private readonly clock: () => number;

  constructor(private readonly opts: ExperimentMonitorOptions) {
    this.clock = opts.clock ?? Date.now;
    this.periodic = new Periodic({
      name: 'experiment-guardrail',
      intervalMs: opts.periodMs ?? GUARDRAIL_CHECK_MS,
      run: () => this.check(),
      onError: (err) => {
        const e = toAtpError(err);
        opts.logger.warn({ code: e.code }, `guardrail check failed: ${e.message}`);
      },
    });
  }

  start(): Promise<void> {
    return this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One look at every experiment; stops the arms the guardrail says to stop. */
  async check(): Promise<void> {
    const experiments = await this.opts.client.experiments();
    const report = this.opts.report();
    for (const e of experiments) {
      if (e.state === 'draft') continue;
      const previous = this.assessments.get(e.id);
      const a = assessExperiment(e, report, previous?.revision === undefined ? undefined : previous);
      this.assessments.set(e.id, a);
      if (a.srm?.mismatch === true && previous?.srm?.mismatch !== true) {
        this.opts.logger.error(
          { experiment: e.id, pValue: a.srm.pValue, total: a.srm.total },
          'sample-ratio mismatch: the assignment does not follow the weights; no figure of this experiment can be trusted',
        );
      }
      if (e.state !== 'running') continue;
      for (const s of a.stop) {
        const decidedAtMs = this.clock();
        await this.opts.client.stopArm(e.id, s.arm, s.reason);
        const stop = {
          experiment: e.id,
          arm: s.arm,
          reason: s.reason,
          decidedAtMs,
          acceptedAtMs: this.clock(),
        };
        this.stops.push(stop);
        this.opts.logger.warn(stop, `guardrail stopped arm ${s.arm} of experiment ${e.id}`);
      }
    }
  }
}
