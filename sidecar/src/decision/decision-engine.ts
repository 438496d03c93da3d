/**
 * The decision core (DESIGN.md §3) as a pipeline of typed stages, each in
 * its own module under stages/ (README.md beside this file has the map):
 *
 *   gate    control rules: compliance hold, kill switch, hot-SKU sketch, lag
 *   plan    features -> candidates, hard rules, node health, rule baseline, batch rows
 *   score   one batched ranker run + calibration + thresholds + units_p10 ladder
 *   decide  each side's item decision (model / baseline); the enforced side answers
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
import type { CheckRequest, CheckResponse, Degradation, Mode } from '@mercato/proto/v1/decision';
import { ERR } from '../errors.js';
import { BatchPool } from './batch-pool.js';
import { newDecisionId } from './decision-id.js';
import { decisionRecord } from './decision-record.js';
import type { ItemOutcome } from './item-states.js';
import { DEFAULT_THRESHOLDS } from './policies/thresholds.js';
import type {
  CheckContext,
  Clock,
  ControlView,
  DecisionObserver,
  DecisionService,
  DecisionSink,
  EnforcedSide,
  ModelSource,
  RankerGuard,
  ReservationStore,
  ScoringModel,
  TrackedFeatureReader,
} from './ports.js';
import { decideItems } from './stages/decide.js';
import { type GateDeps, gateItem, gateRequest } from './stages/gate.js';
import { type PlanDeps, planItems, readFeatures } from './stages/plan.js';
import { type ReserveDeps, reserveItems } from './stages/reserve.js';
import { type ScoreDeps, scoreItems } from './stages/score.js';

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
  /** Which side answers when a model is active (the other is logged). */
  enforce: EnforcedSide;
  decisionLog?: DecisionSink | null;
  observer?: DecisionObserver | null;
  /** Request-rate sketch for hot-SKU detection (one per process). */
  sketch?: SkuRateSketch;
  /** Rules-only version string reported when no model answers. */
  rulesOnlyVersion: string;
  /**
   * A staged model rollout: the version this request id falls into, or null
   * for the active model (stable per request id, see model-rollout-follower.ts).
   */
  modelFor?: (requestId: string) => string | null;
}

export class DecisionEngine implements DecisionService {
  readonly sketch: SkuRateSketch;
  private readonly gateDeps: GateDeps;
  private readonly planDeps: PlanDeps;
  private readonly scoreDeps: ScoreDeps;
  private readonly reserveDeps: ReserveDeps;

  constructor(private readonly deps: DecisionEngineDeps) {
    this.sketch = deps.sketch ?? new SkuRateSketch();
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
    this.scoreDeps = { guard: deps.guard, directory: deps.directory, batches: new BatchPool(), observer };
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
    const model = this.takeModel(req.requestId);
    try {
      if (d.models.expected && model === null) degraded.add('model');
      const hotRate = (model?.thresholds ?? DEFAULT_THRESHOLDS).hotSkuRatePerMin;
      const gated = req.items.map((it) =>
        gateItem(it.sku, it.qty, req.channel, nowMs, hotRate, gate.killed, this.gateDeps),
      );
      const fetched = await readFeatures(gated, nowMs, this.planDeps, degraded);
      checkDeadline(ctx, 'reading features');
      const plan = planItems(fetched, req, nowMs, this.planDeps, degraded);
      const scored =
        model !== null && plan.rows > 0
          ? await scoreItems(model, plan, req.channel, nowMs, ctx.deadlineAt, this.scoreDeps, degraded)
          : null;
      const modelOk = scored !== null;
      const enforced: EnforcedSide = modelOk && d.enforce === 'model' ? 'model' : 'baseline';
      let outcomes: readonly ItemOutcome[] = decideItems(scored ?? plan.items, enforced);
      if (req.channel === 'checkout' && gate.mode === 'enforce' && !gate.killed) {
        checkDeadline(ctx, 'reserving');
        outcomes = await reserveItems(outcomes, decisionId, nowMs, this.reserveDeps, degraded);
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
      };
      const latencyS = (performance.now() - t0) / 1000;
      d.observer?.decided(response, latencyS);
      d.decisionLog?.push(decisionRecord(req, response, outcomes, enforced, modelOk, nowMs, latencyS));
      return response;
    } finally {
      if (model !== null) d.models.done(model);
    }
  }

  /** The request's model: its staged rollout version when it falls into one (and it is loaded), else the active one. */
  private takeModel(requestId: string): ScoringModel | null {
    const models = this.deps.models;
    const staged = this.deps.modelFor?.(requestId) ?? null;
    return (staged === null ? null : models.acquireVersion(staged)) ?? models.acquire();
  }
}

function checkDeadline(ctx: CheckContext, stage: string): void {
  if (ctx.deadlineAt !== undefined && performance.now() > ctx.deadlineAt) {
    throw new AtpError(ERR.DEADLINE_EXCEEDED, `deadline passed while ${stage}`);
  }
}
