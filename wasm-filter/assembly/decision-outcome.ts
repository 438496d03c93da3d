// What happens to a request once the filter knows enough: continue it with
// annotation headers, or answer it locally. Pure functions of (route mode,
// verdict / validation error, failure policy) — the whole decision table of
// the filter, with no host calls, so it reads (and tests) as a table.

import {
  DEGRADED_SIDECAR,
  HEADER_DECISION,
  HEADER_DECISION_ID,
  HEADER_DEGRADED,
  HEADER_NODE,
  RETRY_AFTER_S,
} from './constants';
import {
  atpUnavailableBody,
  DETAILS_DENIED,
  DETAILS_INVALID_REQUEST,
  DETAILS_UNAVAILABLE,
  deniedBody,
  invalidRequestBody,
  STATUS_DENIED,
  STATUS_INVALID_REQUEST,
  STATUS_UNAVAILABLE,
} from './local-replies';
import { RouteMode, SidecarFailurePolicy } from './plugin-config';
import { Verdict, VerdictKind } from './sidecar-verdict';

// x-atp-decision values. Shadow values never read "allow", so an upstream
// cannot mistake an unenforced verdict for a promise.
export const DECISION_ALLOW = 'allow';
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
}

export class Outcome {
  action: ActionKind = ActionKind.CONTINUE;
  label: OutcomeLabel = OutcomeLabel.ALLOW;
  /** Flat [name, value, name, value, ...]: request headers to set (CONTINUE) or reply headers (REPLY). */
  headers: string[] = [];
  status: u32 = 0;
  body: string = '';
  details: string = '';

  header(name: string, value: string): Outcome {
    this.headers.push(name);
    this.headers.push(value);
    return this;
  }
}

/** The sidecar answered (or failed to): allow, deny or degrade, depending on the route mode. */
export function outcomeForVerdict(mode: RouteMode, verdict: Verdict, policy: SidecarFailurePolicy): Outcome {
  if (verdict.kind == VerdictKind.FAILURE) return outcomeForSidecarFailure(mode, policy);
  const enforce = mode == RouteMode.ENFORCE;
  if (verdict.kind == VerdictKind.DENY && enforce) {
    const o = reply(OutcomeLabel.DENY, STATUS_DENIED, deniedBody(verdict.decisionId), DETAILS_DENIED);
    return o.header(HEADER_DECISION_ID, verdict.decisionId);
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
  return o;
}

/**
 * No usable answer (dispatch error, timeout, callback never came, non-200,
 * malformed summary). Enforce: the configured policy — in this version a
 * retryable 503. Shadow: annotate and continue; shadow never blocks.
 */
export function outcomeForSidecarFailure(mode: RouteMode, _policy: SidecarFailurePolicy): Outcome {
  if (mode != RouteMode.ENFORCE) {
    const o = new Outcome();
    o.label = OutcomeLabel.SHADOW;
    return o.header(HEADER_DECISION, DECISION_SHADOW_UNAVAILABLE).header(HEADER_DEGRADED, DEGRADED_SIDECAR);
  }
  // DENY_RETRYABLE is the only policy so far; cached decisions and wide-margin allows branch on _policy here.
  const o = reply(OutcomeLabel.UNAVAILABLE, STATUS_UNAVAILABLE, atpUnavailableBody(), DETAILS_UNAVAILABLE);
  return o.header('retry-after', RETRY_AFTER_S).header(HEADER_DEGRADED, DEGRADED_SIDECAR);
}

/** The client's body (or its size) is wrong. Enforce: 400 naming the field. Shadow: annotate and continue. */
export function outcomeForInvalidRequest(mode: RouteMode, field: string, message: string): Outcome {
  if (mode != RouteMode.ENFORCE) {
    const o = new Outcome();
    o.label = OutcomeLabel.SHADOW;
    return o.header(HEADER_DECISION, DECISION_SHADOW_INVALID);
  }
  return reply(
    OutcomeLabel.INVALID,
    STATUS_INVALID_REQUEST,
    invalidRequestBody(field, message),
    DETAILS_INVALID_REQUEST,
  );
}

function reply(label: OutcomeLabel, status: u32, body: string, details: string): Outcome {
  const o = new Outcome();
  o.action = ActionKind.REPLY;
  o.label = label;
  o.status = status;
  o.body = body;
  o.details = details;
  return o.header('content-type', 'application/json');
}
