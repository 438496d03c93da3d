/**
 * Stage 1, gate: the control rules, before any feature is read. Per request:
 * the mode of the route (off / shadow / enforce, rollout share) and a global,
 * region or route kill switch. Per item, in order: a compliance hold denies
 * it (and beats a kill switch); a kill switch gets ATP out of the way (allow,
 * KILL_SWITCH, no hold); otherwise the item is open, with its request rate
 * from the hot-SKU sketch (checkouts count toward it) and its stream lag.
 */
import type { SkuRateSketch } from '@mercato/features/sku-rate-sketch';
import type { StreamHealth } from '@mercato/features/store-ports';
import type { Channel, CheckRequest, Mode } from '@mercato/proto/v1/decision';
import { emptyItem } from '../item-decision.js';
import type { EarlyItem, ItemContext, OpenItem } from '../item-states.js';
import type { CheckContext, ControlView } from '../ports.js';

/** The route a request is attributed to when the caller does not say (filter header `x-atp-route`). */
export const DEFAULT_ROUTE_BY_CHANNEL = { checkout: '/checkout', browse: '/browse' } as const;

export interface GateDeps {
  control: ControlView;
  /** Request-rate sketch for hot-SKU detection (one per process). */
  sketch: SkuRateSketch;
  streamHealth: StreamHealth;
  /** Mode when no control route matches the request's route. */
  defaultMode: Mode;
}

/** The request-level control rules. */
export interface RequestGate {
  readonly mode: Mode;
  /** A global, region or route kill switch is in force: every item is allowed and nothing is held. */
  readonly killed: boolean;
}

export function gateRequest(req: CheckRequest, ctx: CheckContext, deps: GateDeps): RequestGate {
  const route = ctx.route ?? DEFAULT_ROUTE_BY_CHANNEL[req.channel];
  const mode = deps.control.modeFor(route, req.requestId, deps.defaultMode);
  return { mode, killed: deps.control.killedFor(route) !== null };
}

/** One item through the control rules; `hotRatePerMin` is the bundle's (or the default) hot rate. */
export function gateItem(
  sku: string,
  qty: number,
  channel: Channel,
  nowMs: number,
  hotRatePerMin: number,
  killed: boolean,
  deps: GateDeps,
): EarlyItem | OpenItem {
  const control = deps.control;
  if (control.holdOn(sku) !== undefined) {
    return {
      kind: 'early',
      ctx: ungated(sku, qty),
      source: 'none',
      decision: emptyItem(sku, qty, 'COMPLIANCE_HOLD'),
    };
  }
  if (killed || control.skuKilled(sku) !== undefined) {
    const decision = { ...emptyItem(sku, qty, 'KILL_SWITCH'), available: true };
    return { kind: 'early', ctx: ungated(sku, qty), source: 'none', decision };
  }
  if (channel === 'checkout') deps.sketch.observe(sku, nowMs);
  const ratePerMin = deps.sketch.ratePerMin(sku, nowMs);
  const ctx: ItemContext = {
    sku,
    qty,
    hot: ratePerMin >= hotRatePerMin,
    ratePerMin,
    lagMs: deps.streamHealth.lagMsForSku(sku),
  };
  return { kind: 'open', ctx };
}

/** Context of an item the control rules decided: its rate and lag were never looked at. */
function ungated(sku: string, qty: number): ItemContext {
  return { sku, qty, hot: false, ratePerMin: 0, lagMs: 0 };
}
