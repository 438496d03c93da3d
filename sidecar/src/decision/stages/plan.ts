/**
 * Stage 2, plan: features -> candidates. Reads every open item's SKU view
 * (hot cache / store; one read per item, all in flight at once), then per
 * item retrieves the candidate nodes serving the buyer's zone and, per
 * candidate: its stock (ATP minus the lag buffer), node health, hard rules
 * (policies/hard-rules.ts), threshold margins (policies/staleness.ts), the
 * rule baseline (the feature module's rule scorer) and its utility. Every
 * candidate no hard rule rules out gets a batch row, and the first
 * LADDER_CANDIDATES of an item also rows for their units ladder.
 *
 * An item whose features cannot be read, whose SKU no node stocks, or that
 * no node serves in the buyer's zone is decided here (denied, with reason).
 */
import { FRESHNESS_SLO_MS, HEARTBEAT_STALE_MS } from '@mercato/features/freshness';
import { nodeHealth } from '@mercato/features/node-health';
import { N, NODE_RECORD_WIDTH, R, RECORD_WIDTH } from '@mercato/features/record-layout';
import { STALE_CACHE_BUFFER_UNITS, scoreByRules } from '@mercato/features/rule-scorer';
import type { FeatureReader, NodeDirectory } from '@mercato/features/store-ports';
import type { Degradation, Reason } from '@mercato/proto/v1/decision';
import { emptyItem } from '../item-decision.js';
import type {
  EarlyItem,
  FetchedItem,
  ItemContext,
  OpenItem,
  PlannedCandidate,
  PlannedItem,
} from '../item-states.js';
import { hardRuleViolation } from '../policies/hard-rules.js';
import { optionUtility } from '../policies/option-ranking.js';
import { type Candidate, retrieveCandidates } from '../policies/retrieval.js';
import { lagBufferUnits, thresholdMargins } from '../policies/staleness.js';
import { LADDER_CANDIDATES, ladderRungs } from '../policies/units-ladder.js';
import type {
  ControlView,
  DecisionObserver,
  FeatureRead,
  FeatureSource,
  ReservationStore,
  TrackedFeatureReader,
} from '../ports.js';

export interface PlanDeps {
  features: FeatureReader | TrackedFeatureReader;
  directory: NodeDirectory;
  /** Seller constraints for the hard rules. */
  control: ControlView;
  /** Orders confirmed today, for sellers' daily caps. */
  reservations: Pick<ReservationStore, 'ordersToday'>;
  observer: DecisionObserver | null;
}

/** Every item planned (or decided), and how many batch rows the planned ones need. */
export interface Plan {
  readonly items: readonly (EarlyItem | PlannedItem)[];
  readonly rows: number;
}

/** The request's coordinates the plan reads. */
export interface PlanRequest {
  readonly region: string;
  readonly buyerZone: string;
}

const NO_RUNGS: readonly number[] = [];

/**
 * Reads the features of every open item. A read served from a stale cached
 * copy, or one that fails, adds `redis` to `degraded`; a failed one decides
 * its item (FEATURES_UNAVAILABLE).
 */
export async function readFeatures(
  items: readonly (EarlyItem | OpenItem)[],
  nowMs: number,
  deps: PlanDeps,
  degraded: Set<Degradation>,
): Promise<(EarlyItem | FetchedItem)[]> {
  const reader = deps.features;
  const tracked = 'readSkuTracked' in reader;
  const out = new Array<EarlyItem | FetchedItem>(items.length);
  const reads: Promise<void>[] = [];
  let next = 0;
  for (const item of items) {
    const i = next++;
    if (item.kind === 'early') {
      out[i] = item;
      continue;
    }
    const ctx = item.ctx;
    const read = tracked
      ? (reader as TrackedFeatureReader).readSkuTracked(ctx.sku, nowMs)
      : reader.readSku(ctx.sku).then((view): FeatureRead => ({ view, source: 'store' }));
    reads.push(
      read.then(
        (r) => {
          out[i] = { kind: 'fetched', ctx, read: r };
          if (r.source === 'stale-cache') degraded.add('redis');
          deps.observer?.featureRead(r.source);
        },
        () => {
          degraded.add('redis');
          out[i] = early(ctx, 'none', 'FEATURES_UNAVAILABLE');
          deps.observer?.featureRead('unavailable');
        },
      ),
    );
  }
  // One read is the common case: skip Promise.all's allocations for it.
  if (reads.length === 1) await reads[0];
  else if (reads.length > 1) await Promise.all(reads);
  return out;
}

/**
 * Plans every fetched item in request order (batch rows follow it). A stale
 * node adds `stale-node`, a lagging stream `stream-lag` to `degraded`.
 */
export function planItems(
  items: readonly (EarlyItem | FetchedItem)[],
  req: PlanRequest,
  nowMs: number,
  deps: PlanDeps,
  degraded: Set<Degradation>,
): Plan {
  const out: (EarlyItem | PlannedItem)[] = [];
  let slot = 0;
  let row = 0;
  for (const item of items) {
    if (item.kind === 'early') {
      out.push(item);
      continue;
    }
    const { ctx, read } = item;
    const view = read.view;
    if (view.nodeIds.length === 0) {
      out.push(early(ctx, read.source, 'UNKNOWN_SKU'));
      continue;
    }
    const found = retrieveCandidates(view, deps.directory, req.region, req.buyerZone);
    if (found.length === 0) {
      out.push(early(ctx, read.source, 'NOT_SERVICEABLE'));
      continue;
    }
    const cands: PlannedCandidate[] = [];
    let laddered = 0;
    for (const c of found) {
      const cand = planCandidate(
        c,
        item,
        req.region,
        nowMs,
        slot,
        row,
        laddered < LADDER_CANDIDATES,
        deps,
        degraded,
      );
      if (cand.hard === null) {
        slot++;
        row = cand.row + 1 + cand.rungs.length;
        if (cand.rungs.length > 0) laddered++;
      }
      cands.push(cand);
    }
    out.push({ kind: 'planned', ctx, source: read.source, view, cands });
  }
  return { items: out, rows: row };
}

/**
 * One candidate's facts and rules; `slot` and `row` are the next free ranked
 * slot and batch row, taken unless a hard rule applies.
 */
function planCandidate(
  c: Candidate,
  item: FetchedItem,
  region: string,
  nowMs: number,
  slot: number,
  row: number,
  mayLadder: boolean,
  deps: PlanDeps,
  degraded: Set<Degradation>,
): PlannedCandidate {
  const { ctx, read } = item;
  const view = read.view;
  const staleCache = read.source === 'stale-cache';
  const off = c.index * RECORD_WIDTH;
  const onHand = view.recs[off + R.onHand] ?? 0;
  const atp = onHand - (view.recs[off + R.reserved] ?? 0);
  const type = c.node.nodeType;
  const lastHb = view.nodeRecs[c.index * NODE_RECORD_WIDTH + N.lastHeartbeatMs] ?? 0;
  if (lastHb === 0 || nowMs - lastHb > HEARTBEAT_STALE_MS[type]) degraded.add('stale-node');
  const lagging = ctx.lagMs > FRESHNESS_SLO_MS[type];
  if (lagging) degraded.add('stream-lag');
  const health = nodeHealth(type, lastHb, ctx.lagMs, nowMs).health;
  const lagBuffer = lagging ? lagBufferUnits(view.recs, off, nowMs, ctx.lagMs) : 0;
  const sellable = atp - lagBuffer;
  const hard = hardRuleViolation({
    node: c.node,
    constraint: deps.control.seller(c.node.nodeId),
    onHand,
    sellable,
    qty: ctx.qty,
    region,
    nowMs,
    ordersToday: deps.reservations.ordersToday(c.node.nodeId, nowMs),
  });
  const margins = thresholdMargins(health, staleCache);
  const extraBuffer = lagBuffer + (staleCache ? STALE_CACHE_BUFFER_UNITS : 0);
  const rule = scoreByRules(atp, type, health, extraBuffer, ctx.qty);
  const utility = optionUtility(c.etaHours, c.cost);
  if (hard !== null) {
    return { retrieved: c, onHand, atp, sellable, health, margins, hard, rule, utility };
  }
  const rungs = mayLadder ? ladderRungs(sellable) : NO_RUNGS;
  return {
    retrieved: c,
    onHand,
    atp,
    sellable,
    health,
    margins,
    hard,
    rule,
    utility,
    slot,
    row,
    rungs,
    ladderRow: row + 1,
  };
}

function early(ctx: ItemContext, source: FeatureSource | 'none', reason: Reason): EarlyItem {
  return { kind: 'early', ctx, source, decision: emptyItem(ctx.sku, ctx.qty, reason) };
}
