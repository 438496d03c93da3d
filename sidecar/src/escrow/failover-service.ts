/**
 * Regional failover (DESIGN.md §6 "region down", §7). When a region's
 * sidecars or Redis are down, the mesh sends its checkouts to a neighbour
 * (mesh-config/istio/destination-rule.yaml); a neighbour started with
 * `serve --failover-for <region>` answers them here, and ONLY from the
 * budget that region escrowed into this region's Redis ahead of time: never
 * from this region's own stock, a cache or a figure the caller sent. So no
 * cross-region call sits on the hot path and no unit is promised twice (the
 * origin's hold script subtracts what it escrowed out).
 *
 * Requests for the sidecar's own region go to the decision engine unchanged.
 * Failover answers carry `degradations: ['region-failover']` (plus `redis`
 * when the budget store did not answer), `p_fulfill_kind: stock-only` (a
 * budget is counted stock, not a model score) and model version `escrow`.
 * The control rules of this sidecar's snapshot apply as in the gate stage: a
 * compliance hold denies, a kill switch gets ATP out of the way. Failover
 * decisions are not written to this region's decision log: decision records
 * are the origin's user-level data (proto/v1/region-registry.ts); metrics
 * count them instead (failover-metrics.ts).
 */
import { AtpError } from '@mercato/platform/errors';
import {
  type CheckRequest,
  type CheckResponse,
  type Degradation,
  type ItemDecision,
  type Mode,
  NODE_TYPES,
  type NodeType,
  type Reason,
} from '@mercato/proto/v1/decision';
import { newDecisionId } from '../decision/decision-id.js';
import { emptyItem } from '../decision/item-decision.js';
import type {
  CheckContext,
  Clock,
  ControlView,
  DecisionObserver,
  DecisionService,
} from '../decision/ports.js';
import { DEFAULT_ROUTE_BY_CHANNEL } from '../decision/stages/gate.js';
import { ERR } from '../errors.js';
import type { EscrowBudgets, EscrowTake } from './escrow-budgets.js';
import type { FailoverMetrics } from './failover-metrics.js';

/** Model version failover answers report: no model scored them, the escrow budget decided. */
export const ESCROW_MODEL_VERSION = 'escrow';

export interface FailoverServiceDeps {
  /** The sidecar's own decisions (engine, browse answers). */
  inner: DecisionService;
  /** The sidecar's own region (holder of the budgets). */
  region: string;
  /** Regions this sidecar may answer for (`--failover-for`), never its own. */
  origins: ReadonlySet<string>;
  budgets: EscrowBudgets;
  control: ControlView;
  clock: Clock;
  /** Mode when no control route matches (the engine's default). */
  defaultMode: Mode;
  metrics?: FailoverMetrics | null;
  /** The sidecar's decision metrics (counts decisions, reasons, degradations). */
  observer?: DecisionObserver | null;
}

type ItemAnswer = { decision: ItemDecision; taken: boolean; failed: boolean };

export class FailoverService implements DecisionService {
  constructor(private readonly deps: FailoverServiceDeps) {}

  check(req: CheckRequest, ctx: CheckContext = {}): Promise<CheckResponse> {
    if (req.region === this.deps.region) return this.deps.inner.check(req, ctx);
    if (!this.deps.origins.has(req.region)) {
      // The edges refuse these first; kept so the service is safe on its own.
      throw new AtpError(
        ERR.WRONG_REGION,
        `region: this sidecar serves "${this.deps.region}" and fails over for ${[...this.deps.origins].join(', ') || 'no region'}, the request is for "${req.region}"`,
        'region',
      );
    }
    return this.answer(req, ctx);
  }

  private async answer(req: CheckRequest, ctx: CheckContext): Promise<CheckResponse> {
    const t0 = performance.now();
    const d = this.deps;
    const nowMs = d.clock();
    const decisionId = newDecisionId(nowMs);
    const route = ctx.route ?? DEFAULT_ROUTE_BY_CHANNEL[req.channel];
    const mode = d.control.modeFor(route, req.requestId, d.defaultMode);
    const killed = d.control.killedFor(route) !== null;
    // Budget is taken only where a checkout is enforced; shadow, off and product pages only look.
    const take = req.channel === 'checkout' && mode === 'enforce' && !killed;
    // One take per SKU for its total quantity: a take is once per decision id, so a SKU listed twice
    // must not be granted twice on the strength of one take.
    const totals = new Map<string, number>();
    for (const it of req.items) totals.set(it.sku, (totals.get(it.sku) ?? 0) + it.qty);
    const bySku = new Map<string, ItemAnswer>(
      await Promise.all(
        [...totals].map(
          async ([sku, qty]) =>
            [sku, await this.item(req.region, sku, qty, decisionId, take, killed)] as const,
        ),
      ),
    );
    const answers = [...bySku.values()];
    if (take && answers.some((a) => !a.decision.available))
      await this.rollBack(req.region, bySku, decisionId);
    const items = req.items.map((it) => {
      const a = bySku.get(it.sku);
      return a === undefined
        ? emptyItem(it.sku, it.qty, 'RESERVATION_FAILED')
        : { ...a.decision, qty: it.qty };
    });
    const degradations: Degradation[] = ['region-failover'];
    if (answers.some((a) => a.failed)) degradations.push('redis');
    const response: CheckResponse = {
      decisionId,
      requestId: req.requestId,
      region: req.region,
      channel: req.channel,
      decision: items.every((i) => i.available) ? 'allow' : 'deny',
      mode,
      modelVersion: ESCROW_MODEL_VERSION,
      rulesVersion: d.control.rulesVersion,
      degradations,
      items,
      pFulfillKind: 'stock-only',
    };
    d.observer?.decided(response, (performance.now() - t0) / 1000);
    d.metrics?.decided(req.region, response);
    return response;
  }

  private async item(
    origin: string,
    sku: string,
    qty: number,
    decisionId: string,
    take: boolean,
    killed: boolean,
  ): Promise<ItemAnswer> {
    const control = this.deps.control;
    if (control.holdOn(sku) !== undefined) return early(emptyItem(sku, qty, 'COMPLIANCE_HOLD'));
    if (killed || control.skuKilled(sku) !== undefined) {
      return early({ ...emptyItem(sku, qty, 'KILL_SWITCH'), available: true });
    }
    let r: EscrowTake;
    try {
      r = take
        ? await this.deps.budgets.take(origin, sku, qty, decisionId)
        : await this.deps.budgets.peek(origin, sku, qty);
    } catch {
      // A timed-out take may still have run: the give-back follows it on the same connection (in order),
      // and is a no-op if it did not. Not awaited: the answer is a deny either way.
      if (take) this.deps.budgets.giveBack(origin, sku, decisionId).catch(() => undefined);
      // No budget store, no promise: the failed origin's stock is never guessed at.
      return { decision: emptyItem(sku, qty, 'RESERVATION_FAILED'), taken: false, failed: true };
    }
    this.deps.metrics?.budgetLeft(origin, sku, r.leftUnits);
    if (!r.granted) return early({ ...emptyItem(sku, qty, 'INSUFFICIENT_ATP'), unitsP10: r.leftUnits });
    const nodeType = (NODE_TYPES as readonly string[]).includes(r.nodeType) ? (r.nodeType as NodeType) : null;
    if (nodeType === null) {
      // A budget whose node the budget service could not type: not promised (and put back).
      if (take) await this.deps.budgets.giveBack(origin, sku, decisionId).catch(() => undefined);
      return early(emptyItem(sku, qty, 'NODE_UNKNOWN_STOCK'));
    }
    const reasons: Reason[] = ['ATP_OK'];
    return {
      taken: take,
      failed: false,
      decision: {
        sku,
        qty,
        available: true,
        pFulfill: 1,
        unitsP10: r.leftUnits,
        oversellRisk: 0,
        reasons,
        // ETA and cost need the origin's node directory and buyer zones, which stay in the origin: 0 = not known here.
        options: [{ nodeId: r.nodeId, nodeType, etaHours: 0, cost: 0, score: 1, pFulfill: 1, reasons }],
      },
    };
  }

  /**
   * A basket is promised whole or not at all: units taken for its other SKUs
   * go back to the budget, and those SKUs' answers become RESERVATION_FAILED.
   */
  private async rollBack(origin: string, bySku: Map<string, ItemAnswer>, decisionId: string): Promise<void> {
    await Promise.all(
      [...bySku].map(async ([sku, a]) => {
        if (!a.taken) return;
        // A failed give-back leaves the units counted as used: reconcile returns them to the origin.
        await this.deps.budgets.giveBack(origin, sku, decisionId).catch(() => undefined);
        bySku.set(sku, {
          ...a,
          taken: false,
          decision: emptyItem(sku, a.decision.qty, 'RESERVATION_FAILED'),
        });
      }),
    );
  }
}

function early(decision: ItemDecision): ItemAnswer {
  return { decision, taken: false, failed: false };
}
