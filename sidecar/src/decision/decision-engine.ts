/**
 * The decision core (DESIGN.md §3) as a pipeline of typed stages, each in
 * its own module under stages/ (README.md beside this file has the map):
 *
 *   gate    control rules: compliance hold, kill switch, hot-SKU sketch, lag
 *   plan    features -> candidates, hard rules, node health, rule baseline, batch rows
 *   score   one batched ranker run + calibration + thresholds + units_p10 ladder
 *   decide  each side's item decision (model / baseline / naive); the enforced side answers
 *   reserve soft reservations at checkout, in enforce mode
 *
 * Shadow evaluation: whenever a model is active, the rule baseline is
 * computed beside it, both are logged, and `enforce` says which one answers.
 * The engine depends only on the ports in ports.ts; which stores, model
 * source, guard and sinks it uses is decided by the factory (sidecar.ts).
 */

import { SkuRateSketch } from '@mercato/features/sku-rate-sketch';
import type { FeatureReader, NodeDirectory, StreamHealth } from '@mercato/features/store-ports';
import { AtpError } from '@mercato/platform/errors';
import type {
  CheckRequest,
  CheckResponse,
  Degradation,
  Mode,
  PFulfillKind,
} from '@mercato/proto/v1/decision';
import { ERR } from '../errors.js';
import { armModel } from '../experiments/arm-model.js';
import type { ArmAssignment, ExperimentAssigner } from '../experiments/experiment-assigner.js';
import { BatchPool } from './batch-pool.js';
import { newDecisionId } from './decision-id.js';
import { decisionRecord } from './decision-record.js';
import type { ItemOutcome } from './item-states.js';
import { BATCH_FEATURES_MAX_AGE_MS, batchStale } from './policies/batch-freshness.js';
import { DEFAULT_THRESHOLDS } from './policies/thresholds.js';
import type {
  CheckContext,
  Clock,
  ControlView,
  DecisionObserver,
  DecisionService,
  DecisionSink,
  DriftWatch,
  EnforcedSide,
  ModelSource,
  RankerGuard,
  ReservationStore,
  ScoringModel,
  ServedFeatureAudit,
  ServedRowSink,
  TrackedFeatureReader,
} from './ports.js';
import { decideItems } from './stages/decide.js';
import { type GateDeps, gateItem, gateRequest } from './stages/gate.js';
import { type PlanDeps, planItems, readFeatures } from './stages/plan.js';
import { type ReserveDeps, reserveItems } from './stages/reserve.js';
import { type ScoreDeps, scoreItems } from './stages/score.js';

/**
 * What the answered side's p_fulfill numbers are: only the model's are
 * calibrated probabilities; the rule scorer's are scores, the naive side's 1 / 0.
 */
const P_FULFILL_KIND: Record<EnforcedSide, PFulfillKind> = {
  model: 'calibrated',
  baseline: 'rule-score',
  naive: 'stock-only',
};

export interface DecisionEngineDeps {
  features: FeatureReader | TrackedFeatureReader;
  directory: NodeDirectory;
  reservations: ReservationStore;
  streamHealth: StreamHealth;
  control: ControlView;
  models: ModelSource;
  /** Runs the ranker under its budget and circuit breaker (the model guard). */
  guard: RankerGuard;
  clock: Clock;
  /** Mode when no control route matches the request's route. */
  defaultMode: Mode;
  /** Which side answers (`model`: when a model scored the request); the others are logged. */
  enforce: EnforcedSide;
  decisionLog?: DecisionSink | null;
  observer?: DecisionObserver | null;
  /** Online drift of the served rows (sidecar/src/drift); its alarm adds the drift margin. */
  drift?: DriftWatch | null;
  /** The served side of the skew audit (`serve --feature-audit`). */
  featureAudit?: ServedFeatureAudit | null;
  /** Keeps each scored candidate's served row with its decision (the recent-decision ring, when on). */
  servedRows?: ServedRowSink | null;
  /** Request-rate sketch for hot-SKU detection (one per process). */
  sketch?: SkuRateSketch;
  /** Rules-only version string reported when no model answers. */
  rulesOnlyVersion: string;
  /**
   * True while the control plane's watch has been lost longer than its
   * bound: the last good snapshot serves, every answer says `control-plane`.
   * Absent = no control plane is watched (the embedded snapshot).
   */
  controlLost?: () => boolean;
  /** Age past which the batch node features are stale (default BATCH_FEATURES_MAX_AGE_MS). */
  batchMaxAgeMs?: number;
  /**
   * A staged model rollout: the version this request id falls into, or null
   * for the active model (stable per request id, see model-rollout-follower.ts).
   */
  modelFor?: (requestId: string) => string | null;
  /** Maps a request's experiment bucket to its arm (the arm's policy then overrides `enforce`). */
  experiments?: ExperimentAssigner;
}

export class DecisionEngine implements DecisionService {
  readonly sketch: SkuRateSketch;
  private readonly gateDeps: GateDeps;
  private readonly planDeps: PlanDeps;
  private readonly scoreDeps: ScoreDeps;
  private readonly reserveDeps: ReserveDeps;
  private readonly batchMaxAgeMs: number;

  constructor(private readonly deps: DecisionEngineDeps) {
    this.sketch = deps.sketch ?? new SkuRateSketch();
    this.batchMaxAgeMs = deps.batchMaxAgeMs ?? BATCH_FEATURES_MAX_AGE_MS;
    const observer = deps.observer ?? null;
    this.gateDeps = {
      control: deps.control,
      sketch: this.sketch,
      streamHealth: deps.streamHealth,
      defaultMode: deps.defaultMode,
    };
    this.planDeps = {
      features: deps.features,
      directory: deps.directory,
      control: deps.control,
      reservations: deps.reservations,
      observer,
    };
    this.scoreDeps = {
      guard: deps.guard,
      directory: deps.directory,
      batches: new BatchPool(),
      observer,
      drift: deps.drift ?? null,
      audit: deps.featureAudit ?? null,
      served: deps.servedRows ?? null,
    };
    this.reserveDeps = { reservations: deps.reservations, observer };
  }

  /** The version new requests answer with: the active model's, or the rules-only marker. */
  get modelVersion(): string {
    return this.deps.models.active?.version ?? this.deps.rulesOnlyVersion;
  }

  async check(req: CheckRequest, ctx: CheckContext = {}): Promise<CheckResponse> {
    const t0 = performance.now();
    const d = this.deps;
    const nowMs = d.clock();
    const gate = gateRequest(req, ctx, this.gateDeps);
    const decisionId = newDecisionId(nowMs);
    const degraded = new Set<Degradation>();
    const { arm, taken } = this.takeArm(req);
    // The arm's threshold overrides, on the same loaded model (no copy, built once per arm).
    const model = taken === null ? null : armModel(taken, arm?.thresholds);
    try {
      if (d.models.expected && model === null) degraded.add('model');
      if (d.controlLost?.() === true) degraded.add('control-plane');
      // Only the model reads batch node features: a stale set matters to answers a model makes.
      if (model !== null && batchStale(d.directory.batchInfo(), nowMs, this.batchMaxAgeMs)) {
        degraded.add('batch-stale');
      }
      const hotRate = (model?.thresholds ?? DEFAULT_THRESHOLDS).hotSkuRatePerMin;
      const gated = req.items.map((it) =>
        gateItem(it.sku, it.qty, req.channel, nowMs, hotRate, gate.killed, this.gateDeps),
      );
      const fetched = await readFeatures(gated, nowMs, this.planDeps, degraded);
      checkDeadline(ctx, 'reading features');
      const plan = planItems(fetched, req, nowMs, this.planDeps, degraded);
      const scored =
        model !== null && plan.rows > 0
          ? await scoreItems(
              model,
              plan,
              req.channel,
              nowMs,
              ctx.deadlineAt,
              this.scoreDeps,
              degraded,
              decisionId,
            )
          : null;
      const modelOk = scored !== null;
      const enforced = enforcedSide(arm?.kind ?? null, d.enforce, modelOk);
      let outcomes: readonly ItemOutcome[] = decideItems(scored ?? plan.items, enforced);
      if (req.channel === 'checkout' && gate.mode === 'enforce' && !gate.killed) {
        checkDeadline(ctx, 'reserving');
        outcomes = await reserveItems(outcomes, decisionId, nowMs, enforced, this.reserveDeps, degraded);
      }
      const items = outcomes.map((o) => o.final);
      const response: CheckResponse = {
        decisionId,
        requestId: req.requestId,
        region: req.region,
        channel: req.channel,
        decision: items.every((i) => i.available) ? 'allow' : 'deny',
        mode: gate.mode,
        modelVersion: model?.version ?? d.rulesOnlyVersion,
        rulesVersion: d.control.rulesVersion,
        degradations: [...degraded],
        items,
        pFulfillKind: P_FULFILL_KIND[enforced],
      };
      const latencyS = (performance.now() - t0) / 1000;
      d.observer?.decided(response, latencyS);
      d.decisionLog?.push(decisionRecord(req, response, outcomes, enforced, modelOk, nowMs, latencyS, arm));
      return response;
    } finally {
      if (taken !== null) d.models.done(taken);
    }
  }

  /** The request's experiment arm and the model it scores with (an arm whose model is not loaded is not served). */
  private takeArm(req: CheckRequest): { arm: ArmAssignment | null; taken: ScoringModel | null } {
    const experiments = this.deps.experiments;
    let arm = experiments?.assign(req.experiment) ?? null;
    if (experiments !== undefined && arm?.modelVersion !== undefined) {
      const m = this.deps.models.acquireVersion(arm.modelVersion);
      if (m !== null) return { arm, taken: m };
      arm = experiments.unavailable(arm);
    }
    return { arm, taken: this.takeModel(req.requestId, arm) };
  }

  /** The request's model: its staged rollout version when it falls into one (and it is loaded), else the active one. */
  private takeModel(requestId: string, arm: ArmAssignment | null): ScoringModel | null {
    const models = this.deps.models;
    // An arm's model version wins over a staged rollout (it is loaded only while staged or active).
    const staged = arm?.modelVersion ?? this.deps.modelFor?.(requestId) ?? null;
    return (staged === null ? null : models.acquireVersion(staged)) ?? models.acquire();
  }
}

/**
 * Which side answers: an experiment arm's policy when the request has one
 * (naive: stock only; champion / challenger: the model when it scored), else
 * the sidecar's `--enforce`.
 */
function enforcedSide(
  armKind: ArmAssignment['kind'] | null,
  enforce: EnforcedSide,
  modelOk: boolean,
): EnforcedSide {
  if (armKind === 'naive' || (armKind === null && enforce === 'naive')) return 'naive';
  if (armKind !== null) return modelOk ? 'model' : 'baseline';
  return modelOk && enforce === 'model' ? 'model' : 'baseline';
}

function checkDeadline(ctx: CheckContext, stage: string): void {
  if (ctx.deadlineAt !== undefined && performance.now() > ctx.deadlineAt) {
    throw new AtpError(ERR.DEADLINE_EXCEEDED, `deadline passed while ${stage}`);
  }
}
