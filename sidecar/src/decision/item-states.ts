/**
 * The states one requested item goes through in the engine, as a
 * discriminated union on `kind`. Each stage returns new values and never
 * changes the ones it was given:
 *
 *   gate    -> EarlyItem (compliance hold, kill switch) | OpenItem
 *   plan    -> FetchedItem (features read) -> EarlyItem (features unavailable,
 *              unknown SKU, not serviceable) | PlannedItem
 *   score   -> ScoredItem (every PlannedItem, when the ranker answered)
 *   decide  -> ItemOutcome (both sides, the enforced one as `final`)
 *   reserve -> ItemOutcome (`final` after the soft hold)
 */
import type { NodeHealth } from '@mercato/features/node-health';
import type { RuleScore } from '@mercato/features/rule-scorer';
import type { SkuView } from '@mercato/features/store-ports';
import type { ItemDecision, Reason } from '@mercato/proto/v1/decision';
import type { ItemLog } from '../decision-log/decision-log-record.js';
import type { ModelScores } from './model-scores.js';
import type { Candidate } from './policies/retrieval.js';
import type { FeatureRead, FeatureSource } from './ports.js';

/** The requested line and what the gate learned about it. */
export interface ItemContext {
  readonly sku: string;
  readonly qty: number;
  /** Request rate at or above the bundle's hot rate: stricter thresholds, no promise without a hold. */
  readonly hot: boolean;
  readonly ratePerMin: number;
  /** Stream lag of the SKU's partition. */
  readonly lagMs: number;
}

/** Decided before ranking; `decision` is both sides' answer. */
export interface EarlyItem {
  readonly kind: 'early';
  readonly ctx: ItemContext;
  readonly source: FeatureSource | 'none';
  readonly decision: ItemDecision;
}

/** Passed the gate; its features are still to be read. */
export interface OpenItem {
  readonly kind: 'open';
  readonly ctx: ItemContext;
}

/** Features read (from the store, the hot cache or a stale cached copy). */
export interface FetchedItem {
  readonly kind: 'fetched';
  readonly ctx: ItemContext;
  readonly read: FeatureRead;
}

/** What the plan knows of one candidate node, whatever the rules say. */
interface CandidateFacts {
  readonly retrieved: Candidate;
  readonly onHand: number;
  /** On hand minus reserved. */
  readonly atp: number;
  /** ATP minus the lag buffer. */
  readonly sellable: number;
  readonly health: NodeHealth;
  /** Staleness margins added to the model threshold (policies/staleness.ts). */
  readonly margins: number;
  /** The rule baseline's verdict. */
  readonly rule: RuleScore;
  /** ETA and cost as a utility (policies/option-ranking.ts). */
  readonly utility: number;
}

/** A candidate a hard rule rules out: never ranked, never promised. */
export interface BlockedCandidate extends CandidateFacts {
  readonly hard: Reason;
}

/** A candidate the ranker scores: its row in the batch, and its units ladder (empty when none). */
export interface RankedCandidate extends CandidateFacts {
  readonly hard: null;
  /** Position among the request's ranked candidates, in plan order: where ModelScores keeps its results. */
  readonly slot: number;
  readonly row: number;
  /** Quantities asked for units_p10 (policies/units-ladder.ts); empty = no ladder. */
  readonly rungs: readonly number[];
  /** Batch row of the first rung. */
  readonly ladderRow: number;
}

export type PlannedCandidate = BlockedCandidate | RankedCandidate;

/** Candidates found, hard rules and the rule baseline applied, batch rows assigned. */
export interface PlannedItem {
  readonly kind: 'planned';
  readonly ctx: ItemContext;
  readonly source: FeatureSource;
  readonly view: SkuView;
  readonly cands: readonly PlannedCandidate[];
}

/** A planned item the ranker scored; `scores` is shared by every item of the request. */
export interface ScoredItem {
  readonly kind: 'scored';
  readonly ctx: ItemContext;
  readonly source: FeatureSource;
  readonly view: SkuView;
  readonly cands: readonly PlannedCandidate[];
  readonly scores: ModelScores;
}

export type ReservationStatus = ItemLog['reservation'];

/** Both sides' answers for an item and the one given. */
export interface ItemOutcome {
  readonly item: EarlyItem | PlannedItem | ScoredItem;
  /** The rule baseline's answer. */
  readonly baseline: ItemDecision;
  /** The model's answer; null when the model did not score the request (an early item: its decision). */
  readonly model: ItemDecision | null;
  /** The enforced side's answer, after the soft reservation when one was taken. */
  readonly final: ItemDecision;
  readonly reservation: ReservationStatus;
}
