/**
 * Stage 5, reserve: soft reservations for a checkout basket the policy
 * allows, in enforce mode and with no kill switch (DESIGN.md §3). One
 * atomic check-and-promise per item, trying its options in rank order, each
 * call bounded by RESERVATION_TIMEOUT_MS: the first hold granted is the
 * promise (its option moves first). An item whose every option is refused
 * is denied (RESERVATION_FAILED), flagged `redis` when the store refused
 * because it lost the stock record (DESIGN.md §6 "Redis lost its state": no
 * promise from the caller's figure); one whose store call fails answers what
 * the wide-margin fallback says (policies/wide-margin-fallback.ts). If any
 * item ends up denied, the basket is denied and its other holds released.
 */

import { AtpError, COMMON_ERR, toAtpError } from '@mercato/platform/errors';
import type { Degradation, FulfillmentOption, ItemDecision } from '@mercato/proto/v1/decision';
import { ERR } from '../../errors.js';
import { deniedItem } from '../item-decision.js';
import type { ItemOutcome, PlannedItem, ReservationStatus, ScoredItem } from '../item-states.js';
import { promoteOption } from '../policies/option-ranking.js';
import { RESERVATION_TIMEOUT_MS, SOFT_HOLD_TTL_MS } from '../policies/reservation-policy.js';
import { answerWithoutHold, storeFailure } from '../policies/wide-margin-fallback.js';
import type { DecisionObserver, EnforcedSide, ReservationStore, ReserveOutcome } from '../ports.js';

export interface ReserveDeps {
  reservations: ReservationStore;
  observer: DecisionObserver | null;
}

/**
 * Holds the basket under `holdId` (the decision id). Returns `outcomes`
 * itself when nothing is to be held (an item already denied, or every item
 * decided before ranking). A failed store call adds `redis` to `degraded`.
 */
export async function reserveItems(
  outcomes: readonly ItemOutcome[],
  holdId: string,
  nowMs: number,
  enforced: EnforcedSide,
  deps: ReserveDeps,
  degraded: Set<Degradation>,
): Promise<readonly ItemOutcome[]> {
  let live = 0;
  for (const o of outcomes) {
    if (!o.final.available) return outcomes;
    if (o.item.kind !== 'early') live++;
  }
  if (live === 0) return outcomes;
  const settled = await Promise.all(
    outcomes.map((o) =>
      o.item.kind === 'early' ? o : holdItem(o, o.item, holdId, nowMs, enforced, deps, degraded),
    ),
  );
  if (!settled.every((o) => o.final.available)) {
    for (const o of settled) {
      if (o.reservation === 'held') deps.reservations.release(o.item.ctx.sku, holdId).catch(() => undefined);
    }
  }
  return settled;
}

/** Tries the item's options in rank order until one is held. */
async function holdItem(
  o: ItemOutcome,
  item: PlannedItem | ScoredItem,
  holdId: string,
  nowMs: number,
  enforced: EnforcedSide,
  deps: ReserveDeps,
  degraded: Set<Degradation>,
): Promise<ItemOutcome> {
  const { sku, qty, hot } = item.ctx;
  const decision = o.final;
  let i = 0;
  for (const option of decision.options) {
    const sellable = sellableAt(item, option, enforced);
    let outcome: ReserveOutcome;
    try {
      outcome = await withTimeout(
        deps.reservations.reserve({
          sku,
          nodeId: option.nodeId,
          qty,
          holdId,
          atpHint: sellable,
          nowMs,
          ttlMs: SOFT_HOLD_TTL_MS,
          hot,
        }),
        RESERVATION_TIMEOUT_MS,
      );
    } catch (err) {
      // The hold may or may not have landed: give it back so a lost answer cannot leak units.
      deps.reservations.release(sku, holdId).catch(() => undefined);
      degraded.add('redis');
      deps.observer?.reservation('unavailable');
      const final = answerWithoutHold(decision, option, sellable, storeFailure(err), hot);
      return settled(o, final, 'unavailable');
    }
    if (outcome.ok) {
      deps.observer?.reservation('held');
      return settled(o, i > 0 ? promoteOption(decision, i, option) : decision, 'held');
    }
    // The store lost its state (or may have): refused like any refusal, and the answer says so.
    if ('refusal' in outcome) degraded.add('redis');
    deps.observer?.reservation('refused');
    i++;
  }
  return settled(o, deniedItem(decision, 'RESERVATION_FAILED'), 'refused');
}

/**
 * The outcome after the hold. An explicit literal, not `{ ...o, final }`: V8
 * copies a spread whose fields are then overwritten slowly (about a
 * microsecond an object), which the hot path cannot afford.
 */
function settled(o: ItemOutcome, final: ItemDecision, reservation: ReservationStatus): ItemOutcome {
  return { item: o.item, baseline: o.baseline, model: o.model, final, reservation };
}

/**
 * Sellable units at the option's node as the enforced side saw them (the
 * option came from that candidate): ATP minus the lag buffer, or plain ATP
 * for the naive side, which knows no buffer.
 */
function sellableAt(
  item: PlannedItem | ScoredItem,
  option: FulfillmentOption,
  enforced: EnforcedSide,
): number {
  for (const cand of item.cands) {
    if (cand.retrieved.node.nodeId === option.nodeId) return enforced === 'naive' ? cand.atp : cand.sellable;
  }
  throw new AtpError(COMMON_ERR.INTERNAL, `option ${option.nodeId} of ${item.ctx.sku} has no candidate`);
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
