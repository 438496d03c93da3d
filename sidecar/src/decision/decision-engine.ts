/**
 * The decision core (DESIGN.md §3): request -> per item: control rules
 * (compliance hold, kill switch) -> features (hot cache / store) ->
 * candidates -> hard rules -> one batched ranker run over every candidate of
 * every item (plus the units_p10 ladder) -> thresholds by channel, hotness
 * and staleness -> options ranked by p_fulfill x utility -> soft
 * reservation at checkout -> answer with reasons and degradations.
 *
 * Shadow evaluation: whenever a model is active, the rule baseline is
 * computed beside it, both are logged, and `enforce` says which one answers.
 * The engine depends only on ports; which stores, ranker and sinks it uses is
 * decided by the factory (sidecar.ts).
 */

import { velocityAt } from '@mercato/features/apply-event';
import { FEATURE_COUNT, type FeatureContext, fillFeatureVector } from '@mercato/features/feature-vector';
import { FRESHNESS_SLO_MS, HEARTBEAT_STALE_MS } from '@mercato/features/freshness';
import { type NodeHealth, nodeHealth } from '@mercato/features/node-health';
import { N, NODE_RECORD_WIDTH, R, RECORD_WIDTH } from '@mercato/features/record-layout';
import { type RuleScore, STALE_CACHE_BUFFER_UNITS, scoreByRules } from '@mercato/features/rule-scorer';
import { SkuRateSketch } from '@mercato/features/sku-rate-sketch';
import type { FeatureReader, NodeDirectory, StreamHealth } from '@mercato/features/store-ports';
import type {
  CheckRequest,
  CheckResponse,
  Degradation,
  FulfillmentOption,
  ItemDecision,
  Mode,
  Reason,
} from '@mercato/proto/v1/decision';
import { calibrate, type Thresholds } from '@mercato/proto/v1/model-manifest';
import { type ControlState, DEFAULT_ROUTE_BY_CHANNEL } from '../control/control-state.js';
import type { DecisionLog } from '../decision-log/decision-log.js';
import type {
  CandidateLog,
  DecisionLogRecord,
  ItemLog,
  SideOutcome,
} from '../decision-log/decision-log-record.js';
import { DECISION_LOG_SCHEMA } from '../decision-log/decision-log-record.js';
import { AtpError, ERR, toAtpError } from '../errors.js';
import { ModelGuard, type RankFallback } from '../model/model-guard.js';
import type { LoadedModel, ModelRegistry } from '../model/model-registry.js';
import { newDecisionId } from './decision-id.js';
import { hardRuleViolation } from './hard-rules.js';
import type {
  CheckContext,
  Clock,
  DecisionService,
  FeatureRead,
  FeatureSource,
  ReservationStore,
  TrackedFeatureReader,
} from './ports.js';
import { RESERVATION_TIMEOUT_MS, SOFT_HOLD_TTL_MS, WIDE_MARGIN_UNITS } from './reservation-policy.js';
import { type Candidate, retrieveCandidates } from './retrieval.js';
import { baseThreshold, DEFAULT_THRESHOLDS, threshold } from './thresholds.js';
import { LADDER_CANDIDATES, ladderRungs, unitsFromLadder } from './units-ladder.js';

/** ETA and cost enter the ranking as a utility in (0,1]: a day of ETA halves it. */
export const ETA_HALF_UTILITY_H = 24;
export const COST_WEIGHT = 0.02;
/** Feature rows a pooled batch buffer holds; bigger requests allocate their own. */
export const POOLED_BATCH_ROWS = 1_024;
const POOL_SIZE = 8;

export type EnforcedSide = 'model' | 'baseline';

/** What the engine reports to metrics; implemented by observability/metrics.ts. */
export interface DecisionObserver {
  decided(r: CheckResponse, latencyS: number): void;
  ranked(rows: number, ms: number): void;
  rankerFallback(cause: RankFallback): void;
  reservation(outcome: 'held' | 'refused' | 'unavailable'): void;
  featureRead(source: FeatureSource | 'unavailable'): void;
}

export interface DecisionEngineDeps {
  features: FeatureReader | TrackedFeatureReader;
  directory: NodeDirectory;
  reservations: ReservationStore;
  streamHealth: StreamHealth;
  control: ControlState;
  models: ModelRegistry;
  clock: Clock;
  /** Mode when no control route matches the request's route. */
  defaultMode: Mode;
  /** Which side answers when a model is active (the other is logged). */
  enforce: EnforcedSide;
  decisionLog?: DecisionLog | null;
  observer?: DecisionObserver | null;
  /** Request-rate sketch for hot-SKU detection (one per process). */
  sketch?: SkuRateSketch;
  /** Give-up point of one ranker run (default INFERENCE_TIMEOUT_MS). */
  inferenceTimeoutMs?: number;
  /** Rules-only version string reported when no model answers. */
  rulesOnlyVersion: string;
  /**
   * A staged model rollout: the version this request id falls into, or null
   * for the active model (stable per request id, see model-rollout-follower.ts).
   */
  modelFor?: (requestId: string) => string | null;
}

interface Cand {
  c: Candidate;
  onHand: number;
  atp: number;
  /** ATP minus the lag buffer. */
  sellable: number;
  health: NodeHealth;
  /** Margins added to the model threshold (stale node / stale cache 1 each, unknown node 2). */
  margins: number;
  hard: Reason | null;
  rule: RuleScore;
  row: number;
  p: number;
  thr: number;
  modelPass: boolean;
  modelReason: Reason;
  rungs: number[] | null;
  ladderRow: number;
  units: number;
  utility: number;
}

interface Work {
  sku: string;
  qty: number;
  hot: boolean;
  ratePerMin: number;
  lagMs: number;
  source: FeatureSource | 'none';
  read: FeatureRead | null;
  /** Set when the item is decided before ranking (hold, kill switch, unknown SKU, ...). */
  early: ItemDecision | null;
  cands: Cand[];
  model: ItemDecision | null;
  baseline: ItemDecision | null;
  final: ItemDecision | null;
  reservation: ItemLog['reservation'];
}

export class DecisionEngine implements DecisionService {
  readonly guard: ModelGuard;
  readonly sketch: SkuRateSketch;
  private readonly pool: Float32Array[] = [];

  constructor(private readonly deps: DecisionEngineDeps) {
    this.sketch = deps.sketch ?? new SkuRateSketch();
    this.guard = new ModelGuard(deps.inferenceTimeoutMs);
  }

  /** The version new requests answer with: the active model's, or the rules-only marker. */
  get modelVersion(): string {
    return this.deps.models.active?.version ?? this.deps.rulesOnlyVersion;
  }

  async check(req: CheckRequest, ctx: CheckContext = {}): Promise<CheckResponse> {
    const t0 = performance.now();
    const d = this.deps;
    const nowMs = d.clock();
    const route = ctx.route ?? DEFAULT_ROUTE_BY_CHANNEL[req.channel];
    const mode = d.control.modeFor(route, req.requestId, d.defaultMode);
    const kill = d.control.killedFor(route);
    const decisionId = newDecisionId(nowMs);
    const degr = new Set<Degradation>();
    const staged = d.modelFor?.(req.requestId) ?? null;
    const model = (staged === null ? null : d.models.acquireVersion(staged)) ?? d.models.acquire();
    try {
      if (d.models.expected && model === null) degr.add('model');
      const thresholds = model?.thresholds ?? DEFAULT_THRESHOLDS;
      const works = req.items.map((it) =>
        this.prepare(it.sku, it.qty, req, nowMs, thresholds, kill !== null),
      );
      await this.readFeatures(works, nowMs, degr);
      checkDeadline(ctx, 'reading features');
      let rows = 0;
      for (const w of works) if (w.early === null) rows = this.plan(w, req, nowMs, rows, degr);
      const useModel = model !== null && rows > 0;
      let modelOk = false;
      if (useModel) modelOk = await this.rank(model, works, rows, req, nowMs, ctx, degr);
      const enforced: EnforcedSide = modelOk && d.enforce === 'model' ? 'model' : 'baseline';
      for (const w of works) {
        if (w.early !== null) {
          w.final = w.early;
          continue;
        }
        w.baseline = decideSide(w, 'baseline');
        if (modelOk) w.model = decideSide(w, 'model');
        w.final = enforced === 'model' ? w.model! : w.baseline;
      }
      if (req.channel === 'checkout' && mode === 'enforce' && kill === null) {
        checkDeadline(ctx, 'reserving');
        await this.reserve(works, decisionId, nowMs, degr);
      }
      const items = works.map((w) => w.final!);
      const response: CheckResponse = {
        decisionId,
        requestId: req.requestId,
        region: req.region,
        channel: req.channel,
        decision: items.every((i) => i.available) ? 'allow' : 'deny',
        mode,
        modelVersion: modelOk ? model!.version : (model?.version ?? d.rulesOnlyVersion),
        rulesVersion: d.control.rulesVersion,
        degradations: [...degr],
        items,
      };
      const latencyS = (performance.now() - t0) / 1000;
      d.observer?.decided(response, latencyS);
      if (d.decisionLog)
        d.decisionLog.push(logRecord(req, response, works, enforced, modelOk, nowMs, latencyS));
      return response;
    } finally {
      if (model !== null) d.models.done(model);
    }
  }

  /** Control rules and per-item context; decides holds and kill switches at once. */
  private prepare(
    sku: string,
    qty: number,
    req: CheckRequest,
    nowMs: number,
    t: Thresholds,
    killed: boolean,
  ): Work {
    const d = this.deps;
    const w: Work = {
      sku,
      qty,
      hot: false,
      ratePerMin: 0,
      lagMs: 0,
      source: 'none',
      read: null,
      early: null,
      cands: [],
      model: null,
      baseline: null,
      final: null,
      reservation: 'skipped',
    };
    if (d.control.holdOn(sku) !== undefined) {
      w.early = emptyItem(sku, qty, 'COMPLIANCE_HOLD');
      return w;
    }
    if (killed || d.control.skuKilled(sku) !== undefined) {
      w.early = { ...emptyItem(sku, qty, 'KILL_SWITCH'), available: true };
      return w;
    }
    if (req.channel === 'checkout') this.sketch.observe(sku, nowMs);
    w.ratePerMin = this.sketch.ratePerMin(sku, nowMs);
    w.hot = w.ratePerMin >= t.hotSkuRatePerMin;
    w.lagMs = d.streamHealth.lagMsForSku(sku);
    return w;
  }

  private async readFeatures(works: Work[], nowMs: number, degr: Set<Degradation>): Promise<void> {
    const reader = this.deps.features;
    const tracked = 'readSkuTracked' in reader;
    const reads: Promise<void>[] = [];
    for (const w of works) {
      if (w.early !== null) continue;
      const p = (
        tracked
          ? (reader as TrackedFeatureReader).readSkuTracked(w.sku, nowMs)
          : reader.readSku(w.sku).then((view): FeatureRead => ({ view, source: 'store' }))
      ).then(
        (read) => {
          w.read = read;
          w.source = read.source;
          if (read.source === 'stale-cache') degr.add('redis');
          this.deps.observer?.featureRead(read.source);
        },
        () => {
          degr.add('redis');
          w.early = emptyItem(w.sku, w.qty, 'FEATURES_UNAVAILABLE');
          this.deps.observer?.featureRead('unavailable');
        },
      );
      reads.push(p);
    }
    if (reads.length === 1) await reads[0];
    else if (reads.length > 1) await Promise.all(reads);
  }

  /** Candidates, hard rules, health and the rule baseline; assigns batch rows. Returns the next free row. */
  private plan(w: Work, req: CheckRequest, nowMs: number, row: number, degr: Set<Degradation>): number {
    const d = this.deps;
    const view = w.read!.view;
    if (view.nodeIds.length === 0) {
      w.early = emptyItem(w.sku, w.qty, 'UNKNOWN_SKU');
      return row;
    }
    const candidates = retrieveCandidates(view, d.directory, req.region, req.buyerZone);
    if (candidates.length === 0) {
      w.early = emptyItem(w.sku, w.qty, 'NOT_SERVICEABLE');
      return row;
    }
    const staleCache = w.source === 'stale-cache';
    let laddered = 0;
    for (const c of candidates) {
      const off = c.index * RECORD_WIDTH;
      const onHand = view.recs[off + R.onHand]!;
      const atp = onHand - view.recs[off + R.reserved]!;
      const type = c.node.nodeType;
      const lastHb = view.nodeRecs[c.index * NODE_RECORD_WIDTH + N.lastHeartbeatMs]!;
      if (lastHb === 0 || nowMs - lastHb > HEARTBEAT_STALE_MS[type]) degr.add('stale-node');
      const lagging = w.lagMs > FRESHNESS_SLO_MS[type];
      if (lagging) degr.add('stream-lag');
      const verdict = nodeHealth(type, lastHb, w.lagMs, nowMs);
      // Lag-aware buffer: units the node likely sold that the lagging stream has not shown yet.
      const lagBuffer = lagging ? Math.ceil((velocityAt(view.recs, off, nowMs) * w.lagMs) / 3_600_000) : 0;
      const sellable = atp - lagBuffer;
      const hard = hardRuleViolation({
        node: c.node,
        constraint: d.control.seller(c.node.nodeId),
        onHand,
        sellable,
        qty: w.qty,
        region: req.region,
        nowMs,
        ordersToday: d.reservations.ordersToday(c.node.nodeId, nowMs),
      });
      const margins =
        (verdict.health === 'stale' ? 1 : verdict.health === 'unknown' ? 2 : 0) + (staleCache ? 1 : 0);
      const cand: Cand = {
        c,
        onHand,
        atp,
        sellable,
        health: verdict.health,
        margins,
        hard,
        rule: scoreByRules(
          atp,
          type,
          verdict.health,
          lagBuffer + (staleCache ? STALE_CACHE_BUFFER_UNITS : 0),
          w.qty,
        ),
        row: -1,
        p: Number.NaN,
        thr: Number.NaN,
        modelPass: false,
        modelReason: hard ?? 'BELOW_THRESHOLD',
        rungs: null,
        ladderRow: -1,
        units: 0,
        utility: 1 / (1 + c.etaHours / ETA_HALF_UTILITY_H) - COST_WEIGHT * c.cost,
      };
      if (hard === null) {
        cand.row = row++;
        if (laddered < LADDER_CANDIDATES) {
          const rungs = ladderRungs(sellable);
          if (rungs.length > 0) {
            cand.rungs = rungs;
            cand.ladderRow = row;
            row += rungs.length;
            laddered++;
          }
        }
      }
      w.cands.push(cand);
    }
    return row;
  }

  /** One batched ranker run for every row of every item; false when the model could not answer. */
  private async rank(
    model: LoadedModel,
    works: Work[],
    rows: number,
    req: CheckRequest,
    nowMs: number,
    ctx: CheckContext,
    degr: Set<Degradation>,
  ): Promise<boolean> {
    const d = this.deps;
    const batch = this.takeBatch(rows);
    try {
      const fctx: FeatureContext = { qty: 1, nowMs, skuRatePerMin: 0, streamLagMs: 0 };
      for (const w of works) {
        if (w.early !== null) continue;
        const view = w.read!.view;
        fctx.skuRatePerMin = w.ratePerMin;
        fctx.streamLagMs = w.lagMs;
        for (const cand of w.cands) {
          if (cand.row < 0) continue;
          const i = cand.c.index;
          const nodeRec = view.nodeRecs.subarray(i * NODE_RECORD_WIDTH, (i + 1) * NODE_RECORD_WIDTH);
          const batchFeatures = d.directory.batch(cand.c.node.nodeId);
          fctx.qty = w.qty;
          fillFeatureVector(
            batch,
            cand.row * FEATURE_COUNT,
            view.recs,
            i * RECORD_WIDTH,
            nodeRec,
            cand.c.node,
            batchFeatures,
            fctx,
          );
          if (cand.rungs !== null) {
            for (let k = 0; k < cand.rungs.length; k++) {
              fctx.qty = cand.rungs[k]!;
              fillFeatureVector(
                batch,
                (cand.ladderRow + k) * FEATURE_COUNT,
                view.recs,
                i * RECORD_WIDTH,
                nodeRec,
                cand.c.node,
                batchFeatures,
                fctx,
              );
            }
          }
        }
      }
      const budgetMs =
        ctx.deadlineAt === undefined ? Number.POSITIVE_INFINITY : ctx.deadlineAt - performance.now();
      const res = await this.guard.rank(model.ranker, batch, rows, budgetMs);
      if (!res.ok) {
        degr.add('model');
        d.observer?.rankerFallback(res.cause);
        return false;
      }
      d.observer?.ranked(rows, res.ms);
      const pRaw = res.pRaw;
      const cal = model.calibration;
      const t = model.thresholds;
      for (const w of works) {
        if (w.early !== null) continue;
        for (const cand of w.cands) {
          if (cand.row < 0) continue;
          cand.p = calibrate(cal, pRaw[cand.row]!);
          judge(cand, t, req.channel, w.hot);
          if (cand.rungs !== null) {
            const base = cand.ladderRow;
            cand.units = unitsFromLadder(cand.rungs, (k) => calibrate(cal, pRaw[base + k]!));
          }
        }
      }
      return true;
    } finally {
      this.giveBatch(batch);
    }
  }

  /**
   * Soft reservations for a basket the policy allows (DESIGN.md §3): one
   * atomic check-and-promise per item, trying its options in rank order. Any
   * item that cannot be held denies the basket and releases the others.
   */
  private async reserve(
    works: Work[],
    decisionId: string,
    nowMs: number,
    degr: Set<Degradation>,
  ): Promise<void> {
    const live = works.filter((w) => w.early === null);
    if (live.length === 0 || !works.every((w) => w.final!.available)) return;
    const d = this.deps;
    const taken: Work[] = [];
    await Promise.all(
      live.map(async (w) => {
        const item = w.final!;
        for (let i = 0; i < item.options.length; i++) {
          const opt = item.options[i]!;
          const cand = w.cands.find((c) => c.c.node.nodeId === opt.nodeId)!;
          let outcome: Awaited<ReturnType<ReservationStore['reserve']>>;
          try {
            outcome = await withTimeout(
              d.reservations.reserve({
                sku: w.sku,
                nodeId: opt.nodeId,
                qty: w.qty,
                holdId: decisionId,
                atpHint: cand.sellable,
                nowMs,
                ttlMs: SOFT_HOLD_TTL_MS,
              }),
              RESERVATION_TIMEOUT_MS,
            );
          } catch (err) {
            // The hold may or may not have landed: give it back so a lost answer cannot leak units.
            d.reservations.release(w.sku, decisionId).catch(() => undefined);
            degr.add('redis');
            d.observer?.reservation('unavailable');
            w.reservation = 'unavailable';
            // A timeout means the store is up but slow (other sidecars may be holding these units
            // right now): no promise. Only a store that is down (no one can hold) lets a cold SKU
            // with a wide margin through.
            if (!isTimeout(err) && !w.hot && cand.sellable - w.qty >= WIDE_MARGIN_UNITS) {
              w.final = { ...item, options: [opt], reasons: ['ATP_OK', 'WIDE_MARGIN'] };
            } else {
              w.final = { ...denied(item, 'RESERVATION_FAILED') };
            }
            return;
          }
          if (outcome.ok) {
            d.observer?.reservation('held');
            w.reservation = 'held';
            taken.push(w);
            if (i > 0) w.final = promote(item, i);
            return;
          }
          d.observer?.reservation('refused');
        }
        w.reservation = 'refused';
        w.final = denied(item, 'RESERVATION_FAILED');
      }),
    );
    if (!works.every((w) => w.final!.available)) {
      for (const w of taken) d.reservations.release(w.sku, decisionId).catch(() => undefined);
    }
  }

  private takeBatch(rows: number): Float32Array {
    if (rows <= POOLED_BATCH_ROWS)
      return this.pool.pop() ?? new Float32Array(POOLED_BATCH_ROWS * FEATURE_COUNT);
    return new Float32Array(rows * FEATURE_COUNT);
  }

  private giveBatch(b: Float32Array): void {
    if (b.length === POOLED_BATCH_ROWS * FEATURE_COUNT && this.pool.length < POOL_SIZE) this.pool.push(b);
  }
}

/** Model verdict for one scored candidate. */
function judge(cand: Cand, t: Thresholds, channel: CheckRequest['channel'], hot: boolean): void {
  const base = baseThreshold(t, channel, hot);
  cand.thr = threshold(t, channel, hot, cand.margins);
  if (cand.health === 'unknown' && hot) {
    cand.modelPass = false;
    cand.modelReason = 'NODE_UNKNOWN_STOCK';
  } else if (cand.p >= cand.thr) {
    cand.modelPass = true;
    cand.modelReason = 'ATP_OK';
  } else if (cand.margins > 0 && cand.p >= base) {
    cand.modelReason = 'NODE_STALE';
  } else if (hot && cand.p >= baseThreshold(t, channel, false)) {
    cand.modelReason = 'HOT_SKU_STRICT';
  } else {
    cand.modelReason = 'BELOW_THRESHOLD';
  }
}

/** One side's item decision from the candidates' verdicts. */
function decideSide(w: Work, side: EnforcedSide): ItemDecision {
  const options: FulfillmentOption[] = [];
  const reasons: Reason[] = [];
  let bestP = 0;
  let units = 0;
  for (const cand of w.cands) {
    const model = side === 'model';
    const pass = cand.hard === null && (model ? cand.modelPass : cand.rule.passes);
    const p = model ? (cand.row >= 0 ? cand.p : 0) : cand.rule.pFulfill;
    const reason: Reason = cand.hard ?? (model ? cand.modelReason : cand.rule.reason);
    units += model ? cand.units : cand.hard === null ? cand.rule.unitsP10 : 0;
    if (p > bestP) bestP = p;
    if (!pass) {
      if (!reasons.includes(reason)) reasons.push(reason);
      continue;
    }
    options.push({
      nodeId: cand.c.node.nodeId,
      nodeType: cand.c.node.nodeType,
      etaHours: round(cand.c.etaHours, 2),
      cost: round(cand.c.cost, 2),
      score: round(p * cand.utility, 6),
      pFulfill: round(p, 6),
      reasons: ['ATP_OK'],
    });
  }
  options.sort((a, b) => b.score - a.score || (a.nodeId < b.nodeId ? -1 : 1));
  const available = options.length > 0;
  const pFulfill = available ? options[0]!.pFulfill : round(bestP, 6);
  return {
    sku: w.sku,
    qty: w.qty,
    available,
    pFulfill,
    unitsP10: units,
    oversellRisk: available ? round(1 - pFulfill, 6) : 0,
    reasons: available ? ['ATP_OK'] : reasons,
    options,
  };
}

/** The item with option `i` (the one that got the hold) moved first. */
function promote(item: ItemDecision, i: number): ItemDecision {
  const opt = item.options[i]!;
  const options = [opt, ...item.options.filter((_, k) => k !== i)];
  return { ...item, options, pFulfill: opt.pFulfill, oversellRisk: round(1 - opt.pFulfill, 6) };
}

function denied(item: ItemDecision, reason: Reason): ItemDecision {
  return { ...item, available: false, oversellRisk: 0, reasons: [reason], options: [] };
}

function emptyItem(sku: string, qty: number, reason: Reason): ItemDecision {
  return {
    sku,
    qty,
    available: false,
    pFulfill: 0,
    unitsP10: 0,
    oversellRisk: 0,
    reasons: [reason],
    options: [],
  };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Our own reservation timeout, or the store client's command timeout. */
function isTimeout(err: unknown): boolean {
  return err instanceof Error && /timed? ?out|no answer within/i.test(err.message);
}

function checkDeadline(ctx: CheckContext, stage: string): void {
  if (ctx.deadlineAt !== undefined && performance.now() > ctx.deadlineAt) {
    throw new AtpError(ERR.DEADLINE_EXCEEDED, `deadline passed while ${stage}`);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new AtpError(ERR.RESERVATION_UNAVAILABLE, `no answer within ${ms} ms`)),
      ms,
    );
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(toAtpError(err));
      },
    );
  });
}

function side(it: ItemDecision | null): SideOutcome | null {
  if (it === null) return null;
  return {
    available: it.available,
    node: it.options[0]?.nodeId ?? '',
    p: it.pFulfill,
    unitsP10: it.unitsP10,
    reasons: it.reasons,
  };
}

function logRecord(
  req: CheckRequest,
  res: CheckResponse,
  works: Work[],
  enforced: EnforcedSide,
  modelOk: boolean,
  nowMs: number,
  latencyS: number,
): DecisionLogRecord {
  let modelAllow = true;
  let baseAllow = true;
  const items: ItemLog[] = works.map((w) => {
    const m = w.early ?? w.model;
    const b = w.early ?? w.baseline!;
    if (m !== null && !m.available) modelAllow = false;
    if (!b.available) baseAllow = false;
    return {
      sku: w.sku,
      qty: w.qty,
      hot: w.hot,
      ratePerMin: round(w.ratePerMin, 3),
      lagMs: w.lagMs,
      source: w.source,
      model: modelOk ? side(m) : null,
      baseline: side(b)!,
      final: side(w.final)!,
      reservation: w.reservation,
      candidates: w.cands.map(
        (c): CandidateLog => ({
          node: c.c.node.nodeId,
          p: Number.isNaN(c.p) ? null : round(c.p, 6),
          pRule: c.rule.pFulfill,
          threshold: Number.isNaN(c.thr) ? null : round(c.thr, 6),
          health: c.health,
          reason: c.hard ?? (modelOk && enforced === 'model' ? c.modelReason : c.rule.reason),
        }),
      ),
    };
  });
  return {
    schema: DECISION_LOG_SCHEMA,
    ts: nowMs,
    decisionId: res.decisionId,
    requestId: req.requestId,
    region: req.region,
    zone: req.buyerZone,
    channel: req.channel,
    mode: res.mode,
    enforced,
    decision: res.decision,
    modelDecision: modelOk ? (modelAllow ? 'allow' : 'deny') : null,
    baselineDecision: baseAllow ? 'allow' : 'deny',
    modelVersion: res.modelVersion,
    rulesVersion: res.rulesVersion,
    degradations: res.degradations,
    latencyUs: Math.round(latencyS * 1e6),
    items,
  };
}
