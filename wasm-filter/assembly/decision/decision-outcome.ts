// What happens to a request once the filter knows enough: continue it with
// annotation headers, or answer it locally. Pure functions of (route mode,
// verdict / local rule / validation error) — the whole decision table of the
// filter, with no host calls, so it reads (and tests) as a table.

import {
  DEGRADED_SIDECAR,
  HEADER_CONTENT_TYPE,
  HEADER_DECISION,
  HEADER_DECISION_ID,
  HEADER_DEGRADED,
  HEADER_HOLD_TOKEN,
  HEADER_NODE,
  HEADER_REASON,
  HEADER_RETRY_AFTER,
  JSON_CONTENT_TYPE,
  LOCAL_DECISION_ID_PREFIX,
  MAX_REQUEST_ID_CHARS,
  REASON_CACHED_DECISION,
  REASON_COMPLIANCE_HOLD,
  REASON_KILL_SWITCH,
  REASON_SIDECAR_UNAVAILABLE,
  REASON_WIDE_MARGIN,
  RETRY_AFTER_S,
} from '../constants';
import {
  atpUnavailableBody,
  DETAILS_DENIED,
  DETAILS_INVALID_REQUEST,
  DETAILS_UNAVAILABLE,
  DETAILS_UNSUPPORTED_MEDIA_TYPE,
  deniedBody,
  invalidRequestBody,
  STATUS_DENIED,
  STATUS_INVALID_REQUEST,
  STATUS_UNAVAILABLE,
  STATUS_UNSUPPORTED_MEDIA_TYPE,
  unsupportedMediaTypeBody,
} from './local-replies';
import { RouteMode } from '../config/route-mode';
import { Verdict, VerdictKind } from '../sidecar/sidecar-verdict';

// x-atp-decision values. Shadow values never read "allow", so an upstream
// cannot mistake an unenforced verdict for a promise; "bypass" means ATP is
// switched off for this request (kill switch) and nothing was checked.
export const DECISION_ALLOW = 'allow';
export const DECISION_BYPASS = 'bypass';
export const DECISION_SHADOW_ALLOW = 'shadow-allow';
export const DECISION_SHADOW_DENY = 'shadow-deny';
export const DECISION_SHADOW_UNAVAILABLE = 'shadow-unavailable';
export const DECISION_SHADOW_INVALID = 'shadow-invalid';

export enum ActionKind {
  CONTINUE = 0,
  REPLY = 1,
}

/** Metric label of an outcome (one counter each). */
export enum OutcomeLabel {
  ALLOW = 0,
  DENY = 1,
  SHADOW = 2,
  INVALID = 3,
  UNAVAILABLE = 4,
  BYPASS = 5,
}

export class Outcome {
  action: ActionKind = ActionKind.CONTINUE;
  label: OutcomeLabel = OutcomeLabel.ALLOW;
  /** Flat [name, value, name, value, ...]: request headers to set (CONTINUE) or reply headers (REPLY). */
  headers: string[] = emptyHeaderList();
  status: u32 = 0;
  body: string = '';
  details: string = '';

  header(name: string, value: string): Outcome {
    this.headers.push(name);
    this.headers.push(value);
    return this;
  }
}

/** Name/value slots of the outcome with the most headers (a sidecar allow with a hold token, an allow from the cache: 5). */
const MAX_HEADER_SLOTS: i32 = 10;

/** An empty list with room for every header an outcome sets: pushes never reallocate. */
function emptyHeaderList(): string[] {
  const list = new Array<string>(MAX_HEADER_SLOTS);
  list.length = 0;
  return list;
}

/** The id of a decision the filter made itself: flt-<request id>, within the decision-id length limit. */
export function localDecisionId(requestId: string): string {
  const id = LOCAL_DECISION_ID_PREFIX + requestId;
  if (id.length <= MAX_REQUEST_ID_CHARS) return id;
  return id.substring(0, MAX_REQUEST_ID_CHARS);
}

/** The sidecar answered allow or deny: enforce it, or annotate it in shadow mode. */
export function outcomeForVerdict(mode: RouteMode, verdict: Verdict): Outcome {
  const enforce = mode == RouteMode.ENFORCE;
  if (verdict.kind == VerdictKind.DENY && enforce) {
    const o = reply(OutcomeLabel.DENY, STATUS_DENIED, deniedBody(verdict.decisionId, '', ''), DETAILS_DENIED);
    o.header(HEADER_DECISION_ID, verdict.decisionId);
    if (verdict.degraded.length > 0) o.header(HEADER_DEGRADED, verdict.degraded);
    return o;
  }
  const o = new Outcome();
  o.action = ActionKind.CONTINUE;
  let decision = DECISION_ALLOW;
  if (enforce) {
    o.label = OutcomeLabel.ALLOW;
  } else {
    o.label = OutcomeLabel.SHADOW;
    if (verdict.kind == VerdictKind.ALLOW) decision = DECISION_SHADOW_ALLOW;
    else decision = DECISION_SHADOW_DENY;
  }
  o.header(HEADER_DECISION, decision).header(HEADER_DECISION_ID, verdict.decisionId);
  if (verdict.node.length > 0) o.header(HEADER_NODE, verdict.node);
  if (verdict.degraded.length > 0) o.header(HEADER_DEGRADED, verdict.degraded);
  // The checkout service releases or confirms the allow's hold with it (enforce, and shadow-allow:
  // the sidecar signs every checkout allow). Never on a deny, never from the cache.
  if (verdict.kind == VerdictKind.ALLOW && verdict.holdToken.length > 0) {
    o.header(HEADER_HOLD_TOKEN, verdict.holdToken);
  }
  return o;
}

/** ATP is switched off for this request (kill switch): pass it on, saying so. */
export function outcomeForBypass(): Outcome {
  const o = new Outcome();
  o.label = OutcomeLabel.BYPASS;
  return o.header(HEADER_DECISION, DECISION_BYPASS).header(HEADER_REASON, REASON_KILL_SWITCH);
}

/**
 * A refusal (400 / 415, or shadow-invalid) on a path whose kill switch is
 * set: ATP is off there, so the request passes instead of being refused.
 */
export function outcomeForRefusal(killed: bool, refusal: Outcome): Outcome {
  if (killed) return outcomeForBypass();
  return refusal;
}

/** A SKU of the basket is under a compliance hold: denied locally, without asking the sidecar. */
export function outcomeForHold(mode: RouteMode, decisionId: string, sku: string): Outcome {
  if (mode != RouteMode.ENFORCE) {
    const o = new Outcome();
    o.label = OutcomeLabel.SHADOW;
    return o
      .header(HEADER_DECISION, DECISION_SHADOW_DENY)
      .header(HEADER_DECISION_ID, decisionId)
      .header(HEADER_REASON, REASON_COMPLIANCE_HOLD);
  }
  const body = deniedBody(decisionId, REASON_COMPLIANCE_HOLD, sku);
  return reply(OutcomeLabel.DENY, STATUS_DENIED, body, DETAILS_DENIED)
    .header(HEADER_DECISION_ID, decisionId)
    .header(HEADER_REASON, REASON_COMPLIANCE_HOLD);
}

/**
 * A cached sidecar deny answers (enforce only): on the fast path (degraded
 * false: the sidecar was not asked) or in place of a failed call (degraded true).
 */
export function outcomeForCachedDeny(decisionId: string, degraded: bool): Outcome {
  const body = deniedBody(decisionId, REASON_CACHED_DECISION, '');
  const o = reply(OutcomeLabel.DENY, STATUS_DENIED, body, DETAILS_DENIED)
    .header(HEADER_DECISION_ID, decisionId)
    .header(HEADER_REASON, REASON_CACHED_DECISION);
  if (degraded) o.header(HEADER_DEGRADED, DEGRADED_SIDECAR);
  return o;
}

/** The sidecar failed; a cached allow younger than the route's cache TTL stands in. */
export function outcomeForCachedAllow(decisionId: string, node: string): Outcome {
  const o = degradedAllow(decisionId, REASON_CACHED_DECISION);
  if (node.length > 0) o.header(HEADER_NODE, node);
  return o;
}

/** The sidecar failed; every item's last-known margin was wide enough. */
export function outcomeForWideMargin(decisionId: string): Outcome {
  return degradedAllow(decisionId, REASON_WIDE_MARGIN);
}

/** The sidecar failed on a fail_open route. */
export function outcomeForFailOpen(decisionId: string): Outcome {
  return degradedAllow(decisionId, REASON_SIDECAR_UNAVAILABLE);
}

/**
 * No usable answer and nothing else to go on. Enforce: a retryable 503.
 * Shadow: annotate and continue; shadow never blocks.
 */
export function outcomeForSidecarUnavailable(mode: RouteMode): Outcome {
  if (mode != RouteMode.ENFORCE) {
    const o = new Outcome();
    o.label = OutcomeLabel.SHADOW;
    return o.header(HEADER_DECISION, DECISION_SHADOW_UNAVAILABLE).header(HEADER_DEGRADED, DEGRADED_SIDECAR);
  }
  const o = reply(OutcomeLabel.UNAVAILABLE, STATUS_UNAVAILABLE, atpUnavailableBody(), DETAILS_UNAVAILABLE);
  return o.header(HEADER_RETRY_AFTER, RETRY_AFTER_S).header(HEADER_DEGRADED, DEGRADED_SIDECAR);
}

/** The client's body (or its size) is wrong. Enforce: 400 naming the field. Shadow: annotate and continue. */
export function outcomeForInvalidRequest(mode: RouteMode, field: string, message: string): Outcome {
  if (mode != RouteMode.ENFORCE) return shadowInvalid();
  return reply(
    OutcomeLabel.INVALID,
    STATUS_INVALID_REQUEST,
    invalidRequestBody(field, message),
    DETAILS_INVALID_REQUEST,
  );
}

/** The body is announced as something other than JSON. Enforce: 415. Shadow: annotate and continue. */
export function outcomeForUnsupportedMediaType(mode: RouteMode): Outcome {
  if (mode != RouteMode.ENFORCE) return shadowInvalid();
  return reply(
    OutcomeLabel.INVALID,
    STATUS_UNSUPPORTED_MEDIA_TYPE,
    unsupportedMediaTypeBody(),
    DETAILS_UNSUPPORTED_MEDIA_TYPE,
  );
}

function shadowInvalid(): Outcome {
  const o = new Outcome();
  o.label = OutcomeLabel.SHADOW;
  return o.header(HEADER_DECISION, DECISION_SHADOW_INVALID);
}

function degradedAllow(decisionId: string, reason: string): Outcome {
  const o = new Outcome();
  o.label = OutcomeLabel.ALLOW;
  return o
    .header(HEADER_DECISION, DECISION_ALLOW)
    .header(HEADER_DECISION_ID, decisionId)
    .header(HEADER_DEGRADED, DEGRADED_SIDECAR)
    .header(HEADER_REASON, reason);
}

function reply(label: OutcomeLabel, status: u32, body: string, details: string): Outcome {
  const o = new Outcome();
  o.action = ActionKind.REPLY;
  o.label = label;
  o.status = status;
  o.body = body;
  o.details = details;
  return o.header(HEADER_CONTENT_TYPE, JSON_CONTENT_TYPE);
}
