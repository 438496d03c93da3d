/**
 * The decision core: request -> per item candidates -> scores -> options ->
 * answer. It depends only on ports; which scorer and which stores it uses is
 * decided by the factory that builds it.
 */
import type {
  CheckRequest,
  CheckResponse,
  Degradation,
  FulfillmentOption,
  ItemDecision,
  Mode,
} from '../../../proto/v1/decision.js';
import { newDecisionId } from './decision-id.js';
import type { Clock, FeatureReader, NodeDirectory } from './ports.js';
import { retrieveCandidates } from './retrieval.js';
import { scoreByRules } from './rule-scorer.js';

/** ETA and cost enter the ranking as a utility in (0,1]: a day of ETA halves it. */
export const ETA_HALF_UTILITY_H = 24;
export const COST_WEIGHT = 0.02;

export interface DecisionEngineDeps {
  features: FeatureReader;
  directory: NodeDirectory;
  clock: Clock;
  modelVersion: string;
  rulesVersion: string;
  mode: Mode;
}

export class DecisionEngine {
  constructor(private readonly deps: DecisionEngineDeps) {}

  async check(req: CheckRequest): Promise<CheckResponse> {
    const nowMs = this.deps.clock();
    const degradations: Degradation[] = [];
    const items: ItemDecision[] = [];
    for (const item of req.items) {
      items.push(await this.decideItem(req, item.sku, item.qty, nowMs));
    }
    return {
      decisionId: newDecisionId(nowMs),
      requestId: req.requestId,
      region: req.region,
      channel: req.channel,
      decision: items.every((i) => i.available) ? 'allow' : 'deny',
      mode: this.deps.mode,
      modelVersion: this.deps.modelVersion,
      rulesVersion: this.deps.rulesVersion,
      degradations,
      items,
    };
  }

  private async decideItem(
    req: CheckRequest,
    sku: string,
    qty: number,
    nowMs: number,
  ): Promise<ItemDecision> {
    const view = await this.deps.features.readSku(sku);
    if (view.nodeIds.length === 0) {
      return emptyItem(sku, qty, 'UNKNOWN_SKU');
    }
    const candidates = retrieveCandidates(view, this.deps.directory, req.region, req.buyerZone);
    if (candidates.length === 0) return emptyItem(sku, qty, 'NOT_SERVICEABLE');
    const options: FulfillmentOption[] = [];
    let unitsP10 = 0;
    const reasons = new Set<ItemDecision['reasons'][number]>();
    for (const c of candidates) {
      const s = scoreByRules(view, c, qty, nowMs);
      unitsP10 += s.unitsP10;
      for (const r of s.reasons) reasons.add(r);
      if (!s.passes) continue;
      const utility = 1 / (1 + c.etaHours / ETA_HALF_UTILITY_H) - COST_WEIGHT * c.cost;
      options.push({
        nodeId: c.node.nodeId,
        nodeType: c.node.nodeType,
        etaHours: round(c.etaHours, 2),
        cost: round(c.cost, 2),
        score: round(s.pFulfill * utility, 6),
        pFulfill: s.pFulfill,
        reasons: s.reasons,
      });
    }
    options.sort((a, b) => b.score - a.score || (a.nodeId < b.nodeId ? -1 : 1));
    const available = options.length > 0;
    const pFulfill = available ? options[0]!.pFulfill : 0;
    return {
      sku,
      qty,
      available,
      pFulfill,
      unitsP10,
      oversellRisk: available ? round(1 - pFulfill, 6) : 0,
      reasons: available ? ['ATP_OK'] : [...reasons].filter((r) => r !== 'ATP_OK'),
      options,
    };
  }
}

function emptyItem(sku: string, qty: number, reason: ItemDecision['reasons'][number]): ItemDecision {
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
