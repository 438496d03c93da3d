/**
 * Redis keys of the cross-region escrow (DESIGN.md §6 "region down", §7):
 * per-SKU allotments an origin region X holds out of its own promisable
 * stock so that a neighbour Y may promise them on X's behalf while X is
 * down, with no cross-region call on the hot path.
 *
 * In the ORIGIN's Redis (same `{sku}` hash tag as the SKU's feature and
 * hold keys, so the hold script reads stock, holds and escrow in one slot):
 * - `atp:<X>:{<sku>}:e`    hash: field <node> = units escrowed out (all holders):
 *                          X's own holds never promise them.
 * - `atp:<X>:{<sku>}:eo`   hash: field <moveId> = "<holder>|<node>|<qty>|<nodeType>":
 *                          moves out of X not yet confirmed landed in the holder.
 * - `atp:<X>:{<sku>}:er`   hash: field <reconcileId> = 1: drains already applied to X.
 * - `atp:<X>:escrow:skus`  set of SKUs with escrow (where a restart looks for pending moves).
 *
 * In the HOLDER's Redis (keys of origin X at holder Y):
 * - `atp:<Y>:esc:<X>:{<sku>}:b`   hash: field <node> = budget units left to promise.
 * - `atp:<Y>:esc:<X>:{<sku>}:bt`  hash: field <node> = node type (for the answer's option).
 * - `atp:<Y>:esc:<X>:{<sku>}:l`   hash: field <moveId> = qty: moves landed (idempotent landing).
 * - `atp:<Y>:esc:<X>:{<sku>}:u`   hash: field <node> = units promised from the budget since the last drain.
 * - `atp:<Y>:esc:<X>:{<sku>}:d`   hash: field <decisionId> = "<node>|<qty>": each promise once.
 * - `atp:<Y>:esc:<X>:{<sku>}:r`   hash: field <reconcileId> = drained record, until applied in X.
 * - `atp:<Y>:esc:<X>:skus`        set of SKUs holding a budget for X.
 */

export function escrowedKey(origin: string, sku: string): string {
  return `atp:${origin}:{${sku}}:e`;
}

export function escrowMovesKey(origin: string, sku: string): string {
  return `atp:${origin}:{${sku}}:eo`;
}

export function escrowAppliedKey(origin: string, sku: string): string {
  return `atp:${origin}:{${sku}}:er`;
}

export function escrowSkusKey(origin: string): string {
  return `atp:${origin}:escrow:skus`;
}

/** The holder-side keys of one SKU's budget for `origin`, all in the SKU's slot. */
export interface BudgetKeys {
  budget: string;
  types: string;
  landed: string;
  used: string;
  decisions: string;
  drains: string;
}

export function budgetKeys(holder: string, origin: string, sku: string): BudgetKeys {
  const p = `atp:${holder}:esc:${origin}:{${sku}}`;
  return {
    budget: `${p}:b`,
    types: `${p}:bt`,
    landed: `${p}:l`,
    used: `${p}:u`,
    decisions: `${p}:d`,
    drains: `${p}:r`,
  };
}

export function budgetSkusKey(holder: string, origin: string): string {
  return `atp:${holder}:esc:${origin}:skus`;
}
