/**
 * Hard rules, applied first and always, whatever the model says (DESIGN.md
 * §3): stock already reserved by confirmed orders, and seller constraints
 * from the control snapshot (falling back to the directory's facts):
 * handling time, daily order cap, blackout window, regions it may ship to.
 * Compliance holds and kill switches act on whole items (stages/gate.ts).
 */

import type { NodeInfo } from '@mercato/features/node-profile';
import type { SellerConstraint } from '@mercato/proto/v1/control-snapshot';
import type { Reason } from '@mercato/proto/v1/decision';

/** A checkout promise must ship within this many hours of handling (a longer handling time is not promised). */
export const MAX_PROMISE_HANDLING_H = 72;
const HOUR_MS = 3_600_000;

export interface HardRuleInput {
  node: NodeInfo;
  constraint: SellerConstraint | undefined;
  onHand: number;
  /** On hand - reserved - lag buffer. */
  sellable: number;
  qty: number;
  region: string;
  nowMs: number;
  ordersToday: number;
}

/** The first hard rule the candidate breaks, or null. */
export function hardRuleViolation(x: HardRuleInput): Reason | null {
  const c = x.constraint;
  const regions = c?.regions;
  if (regions !== undefined && !regions.includes(x.region)) return 'REGION_RESTRICTED';
  const blackout = c?.blackoutHoursUtc ?? x.node.blackoutHoursUtc;
  if (blackout !== null && blackout !== undefined && inBlackout(blackout, x.nowMs)) return 'SELLER_BLACKOUT';
  const handling = c?.handlingHours ?? x.node.handlingHours;
  if (handling > MAX_PROMISE_HANDLING_H) return 'SELLER_HANDLING_TIME';
  const cap = c?.dailyOrderCap ?? x.node.dailyOrderCap;
  if (cap > 0 && x.ordersToday >= cap) return 'SELLER_DAILY_CAP';
  if (x.sellable < x.qty) return x.onHand >= x.qty ? 'RESERVED_STOCK' : 'INSUFFICIENT_ATP';
  return null;
}

/** [start, end) hours UTC; start > end wraps midnight (e.g. [22, 6]); start == end is no window. */
export function inBlackout(window: readonly [number, number], nowMs: number): boolean {
  const [start, end] = window;
  if (start === end) return false;
  const hour = Math.floor((((nowMs % (24 * HOUR_MS)) + 24 * HOUR_MS) % (24 * HOUR_MS)) / HOUR_MS);
  return start < end ? hour >= start && hour < end : hour >= start || hour < end;
}
