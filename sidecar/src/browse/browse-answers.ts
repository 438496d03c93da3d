/**
 * Product-page answers (issue 17 item 2, DESIGN.md §1: "batch availability
 * reads, served from cache, never the checkout path"). Wraps the decision
 * service: a browse request's SKUs are answered from per-(zone, route, qty,
 * sku) item answers the engine computed earlier; only the SKUs without a
 * fresh answer go to the engine, together in one sub-request, and their
 * answers are kept for the next pages. Checkouts pass straight through.
 *
 * Freshness: an answer lives BROWSE_ANSWER_TTL_MS (the smallest hot-cache
 * TTL), so a product page is at most two hot-cache TTLs behind the store
 * (one node freshness SLO: 5 s for warehouses); a new control snapshot or
 * model version drops every answer at once (the generation), so kill
 * switches, compliance holds, modes and model swaps apply to the next page.
 *
 * Answers served from here are not in the decision log (they were logged
 * when computed); `stats` counts them.
 */
import type { CheckRequest, CheckResponse, Degradation, ItemDecision } from '@mercato/proto/v1/decision';
import { HOT_CACHE_UNKNOWN_TTL_MS } from '../cache/hot-cache.js';
import { newDecisionId } from '../decision/decision-id.js';
import type { CheckContext, DecisionService } from '../decision/ports.js';

/** How long a computed product-page answer is served. */
export const BROWSE_ANSWER_TTL_MS = HOT_CACHE_UNKNOWN_TTL_MS;
/**
 * An answer computed while the store or the ranker failed is not kept: a
 * fallback for a transient fault (a read past its budget, a ranker timeout)
 * must not be served for the next TTL once the fault is gone. Persistent
 * states (stale batch features, drift, a lost control plane) are kept: they
 * last longer than an answer does and recomputing would not change them.
 */
const TRANSIENT_DEGRADATIONS: ReadonlySet<Degradation> = new Set<Degradation>(['redis', 'model']);

/** Answers kept; past it the store starts over (a miss costs one engine run for the page's missing SKUs). */
export const BROWSE_ANSWER_MAX_ENTRIES = 1_000_000;

export interface BrowseAnswersOptions {
  /** Changes whenever answers computed before must not be served (control snapshot, model version). */
  generation: () => string;
  /** Business clock (ms), as the engine's. */
  clock: () => number;
  ttlMs?: number;
  maxEntries?: number;
}

interface Answer {
  item: ItemDecision;
  atMs: number;
  degradations: readonly Degradation[];
  response: CheckResponse;
}

export interface BrowseAnswerStats {
  /** SKU answers served from kept answers. */
  hits: number;
  /** SKU answers the engine computed. */
  computed: number;
}

export class BrowseAnswers implements DecisionService {
  readonly stats: BrowseAnswerStats = { hits: 0, computed: 0 };
  private readonly answers = new Map<string, Answer>();
  private gen = '';
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(
    private readonly inner: DecisionService,
    private readonly opts: BrowseAnswersOptions,
  ) {
    this.ttlMs = opts.ttlMs ?? BROWSE_ANSWER_TTL_MS;
    this.maxEntries = opts.maxEntries ?? BROWSE_ANSWER_MAX_ENTRIES;
  }

  get size(): number {
    return this.answers.size;
  }

  async check(req: CheckRequest, ctx: CheckContext = {}): Promise<CheckResponse> {
    if (req.channel !== 'browse') return this.inner.check(req, ctx);
    const nowMs = this.opts.clock();
    const gen = this.opts.generation();
    if (gen !== this.gen) {
      this.answers.clear();
      this.gen = gen;
    }
    const prefix = `${req.buyerZone}|${ctx.route ?? ''}|`;
    const n = req.items.length;
    const items = new Array<ItemDecision>(n);
    const degraded = new Set<Degradation>();
    const missing: number[] = [];
    let meta: CheckResponse | null = null;
    for (let i = 0; i < n; i++) {
      const it = req.items[i]!;
      const a = this.answers.get(`${prefix}${it.qty}|${it.sku}`);
      if (a === undefined || nowMs - a.atMs > this.ttlMs || nowMs < a.atMs) {
        missing.push(i);
        continue;
      }
      items[i] = a.item;
      for (const d of a.degradations) degraded.add(d);
      meta = a.response;
    }
    this.stats.hits += n - missing.length;
    if (missing.length > 0) {
      const sub = await this.inner.check({ ...req, items: missing.map((i) => req.items[i]!) }, ctx);
      this.stats.computed += missing.length;
      if (this.answers.size + missing.length > this.maxEntries) this.answers.clear();
      const keep = !sub.degradations.some((d) => TRANSIENT_DEGRADATIONS.has(d));
      for (let j = 0; j < missing.length; j++) {
        const i = missing[j]!;
        const item = sub.items[j]!;
        items[i] = item;
        const it = req.items[i]!;
        if (keep)
          this.answers.set(`${prefix}${it.qty}|${it.sku}`, {
            item,
            atMs: nowMs,
            degradations: sub.degradations,
            response: sub,
          });
      }
      for (const d of sub.degradations) degraded.add(d);
      meta = sub;
    }
    // A browse request has at least one item (the contract): meta is set. Guarded for the type only.
    if (meta === null) return this.inner.check(req, ctx);
    const m = meta;
    return {
      decisionId: missing.length === n ? m.decisionId : newDecisionId(nowMs),
      requestId: req.requestId,
      region: req.region,
      channel: req.channel,
      decision: items.every((i) => i.available) ? 'allow' : 'deny',
      mode: m.mode,
      modelVersion: m.modelVersion,
      rulesVersion: m.rulesVersion,
      degradations: [...degraded],
      items,
      ...(m.pFulfillKind === undefined ? {} : { pFulfillKind: m.pFulfillKind }),
    };
  }
}
