/**
 * Bucket -> arm, at the sidecar's trust boundary. The filter sends only the
 * experiment id, the bucket it computed from the buyer key and the arm it
 * mapped it to; the sidecar trusts none of it blindly:
 *
 * - an experiment the snapshot in force does not run in this region (ended,
 *   never started, or a forged id): no arm, counted as `refused`; the
 *   request gets the sidecar's default policy like any other;
 * - the arm is always the sidecar's own mapping of the bucket (the filter's
 *   may lag a snapshot behind): a different one is counted as `mismatch`;
 * - a stopped arm's bucket: the control arm's policy, tagged with no arm
 *   (outside the analysis), counted as `stopped`;
 * - an arm whose model this sidecar has not loaded (`unavailable`): the
 *   same, never the arm's name on an answer its model did not make.
 *
 * Per snapshot the running experiments are indexed once (the snapshot object
 * is swapped whole, so identity says when it changed); a request costs a Map
 * lookup and a walk over at most MAX_ARMS arms.
 */
import type { ControlSnapshot } from '@mercato/proto/v1/control-snapshot';
import {
  type ArmKind,
  armForBucket,
  controlArm,
  type Experiment,
  type ExperimentArm,
  type ExperimentTag,
  type ThresholdOverrides,
} from '@mercato/proto/v1/experiment';
import { Counter, type Registry } from 'prom-client';

/** What the engine applies to one request of an experiment. */
export interface ArmAssignment {
  experimentId: string;
  /** The arm's name; NO_ARM ('none') when the bucket's arm is stopped. */
  arm: string;
  /** The policy applied: the arm's, or the control arm's for a stopped arm. */
  kind: ArmKind;
  modelVersion: string | undefined;
  thresholds: ThresholdOverrides | undefined;
}

/** What happened to experiment tags; `unavailable` is a subset of `assigned` (mapped, then not servable here). */
export interface AssignerStats {
  assigned: number;
  refused: number;
  mismatch: number;
  stopped: number;
  unavailable: number;
}

export const STOPPED_ARM = 'none';

export class ExperimentAssigner {
  readonly stats: AssignerStats = { assigned: 0, refused: 0, mismatch: 0, stopped: 0, unavailable: 0 };
  private indexedFor: ControlSnapshot | null = null;
  private running = new Map<string, Experiment>();

  private readonly counter: Counter<'outcome'> | null;

  constructor(
    private readonly snapshot: () => ControlSnapshot,
    private readonly region: string,
    /** The sidecar's /metrics registry: `atp_experiment_tags_total{outcome}` mirrors `stats`. */
    registry: Registry | null = null,
  ) {
    this.counter =
      registry === null
        ? null
        : new Counter({
            name: 'atp_experiment_tags_total',
            help: 'Experiment tags from the filter, by what the sidecar made of them (assigned, refused, mismatch, stopped, unavailable).',
            labelNames: ['outcome'],
            registers: [registry],
          });
  }

  private count(outcome: keyof AssignerStats): void {
    this.stats[outcome]++;
    this.counter?.inc({ outcome });
  }

  /** The assignment of a tagged request, or null (no tag, or a tag refused). */
  assign(tag: ExperimentTag | undefined): ArmAssignment | null {
    if (tag === undefined) return null;
    const e = this.index().get(tag.id);
    const arm = e === undefined ? null : armForBucket(e.arms, tag.bucket);
    if (e === undefined || arm === null) {
      this.count('refused');
      return null;
    }
    if (tag.arm !== undefined && tag.arm !== arm.name) this.count('mismatch');
    if (arm.state === 'stopped') {
      this.count('stopped');
      return this.policyOf(e.id, STOPPED_ARM, controlArm(e) ?? arm);
    }
    this.count('assigned');
    return this.policyOf(e.id, arm.name, arm);
  }

  /** An assigned arm that cannot be served here (its model is not loaded): the control policy, no arm. */
  unavailable(a: ArmAssignment): ArmAssignment {
    this.count('unavailable');
    const e = this.index().get(a.experimentId);
    const control = e === undefined ? null : controlArm(e);
    return control === null
      ? { ...a, arm: STOPPED_ARM, modelVersion: undefined, thresholds: undefined }
      : this.policyOf(a.experimentId, STOPPED_ARM, control);
  }

  private policyOf(experimentId: string, name: string, arm: ExperimentArm): ArmAssignment {
    return {
      experimentId,
      arm: name,
      kind: arm.kind,
      modelVersion: arm.modelVersion,
      thresholds: arm.thresholds,
    };
  }

  private index(): Map<string, Experiment> {
    const s = this.snapshot();
    if (s !== this.indexedFor) {
      this.indexedFor = s;
      this.running = new Map(
        (s.experiments ?? [])
          .filter((e) => e.state === 'running' && e.regions.includes(this.region))
          .map((e) => [e.id, e]),
      );
    }
    return this.running;
  }
}
