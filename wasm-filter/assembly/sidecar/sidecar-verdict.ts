// Reads the sidecar's summary headers into a verdict. The filter never parses
// the response body: the sidecar answers 200 with the decision summarised in
// x-atp-* headers (contract in wasm-filter/README.md). Anything missing or
// malformed is a sidecar failure, never an allow (optional headers that are
// malformed are dropped). The headers are checked in place in the borrowed
// header map; only the values the request keeps become strings. No host calls.

import {
  HEADER_DECISION,
  HEADER_DECISION_ID,
  HEADER_DEGRADED,
  HEADER_HOLD_TOKEN,
  HEADER_MODEL_VERSION,
  HEADER_NODE,
  HEADER_RULES_VERSION,
  HEADER_STATUS,
  HEADER_UNITS_P10,
  MAX_CHECKOUT_ITEMS,
  MAX_REQUEST_ID_CHARS,
  MAX_SIDECAR_HEADER_CHARS,
  MAX_VERSION_CHARS,
} from '../constants';
import { HeaderNames, HeaderSlots } from '../host/header-map-reader';
import { NO_UNITS, parseUnitsList } from '../cache/margin-book';
import { bytesEqual } from '../text/byte-writer';
import { isHoldTokenBytes } from './hold-token';
import { isIdentifierBytes, isIdentifierList } from '../text/identifiers';

const STATUS: i32 = 0;
const DECISION: i32 = 1;
const DECISION_ID: i32 = 2;
const NODE: i32 = 3;
const DEGRADED: i32 = 4;
const MODEL_VERSION: i32 = 5;
const RULES_VERSION: i32 = 6;
const UNITS_P10: i32 = 7;
const HOLD_TOKEN: i32 = 8;

const SUMMARY = new HeaderSlots(
  new HeaderNames([
    HEADER_STATUS,
    HEADER_DECISION,
    HEADER_DECISION_ID,
    HEADER_NODE,
    HEADER_DEGRADED,
    HEADER_MODEL_VERSION,
    HEADER_RULES_VERSION,
    HEADER_UNITS_P10,
    HEADER_HOLD_TOKEN,
  ]),
);
const STATUS_OK = '200';
/** A bad status is quoted in the failure reason up to this many characters. */
const MAX_STATUS_ECHO: i32 = 16;

export enum VerdictKind {
  ALLOW = 0,
  DENY = 1,
  FAILURE = 2,
}

export class Verdict {
  kind: VerdictKind = VerdictKind.FAILURE;
  decisionId: string = '';
  /** Best node of the first item; empty when absent or malformed (optional header). */
  node: string = '';
  /** Comma-separated degradations in force; empty when none or malformed. */
  degraded: string = '';
  /** Versions the decision was made under; empty when absent or not identifiers (then it is not cached). */
  rulesVersion: string = '';
  modelVersion: string = '';
  /** x-atp-units-p10, parsed: how many values (NO_UNITS when absent or malformed), in `units`. */
  unitsCount: i32 = NO_UNITS;
  units: Int64Array = new Int64Array(MAX_CHECKOUT_ITEMS);
  /**
   * The allow's hold token (x-atp-hold-token), for this request's upstream only; empty when absent,
   * malformed (see holdTokenDropped) or not an allow. Never cached: a cached answer has no hold.
   */
  holdToken: string = '';
  /** The sidecar sent a hold token that is not one (hold-token.ts): dropped, and counted. */
  holdTokenDropped: bool = false;
  /** Why a FAILURE is one, for logs and metrics. */
  failure: string = '';

  private clear(): Verdict {
    this.kind = VerdictKind.FAILURE;
    this.decisionId = '';
    this.node = '';
    this.degraded = '';
    this.rulesVersion = '';
    this.modelVersion = '';
    this.unitsCount = NO_UNITS;
    this.holdToken = '';
    this.holdTokenDropped = false;
    this.failure = '';
    return this;
  }

  fail(why: string): Verdict {
    this.clear();
    this.failure = why;
    return this;
  }

  /** Starts a new reading (the verdict is reused: one call response at a time). */
  begin(): Verdict {
    return this.clear();
  }
}

// The verdict of the call response being handled: read and used within one callback.
const verdict = new Verdict();

/** The call came back without headers (reset, or timeout on the 'reset' failure path). */
export function noResponseVerdict(): Verdict {
  return verdict.fail('no response (reset or timeout)');
}

/**
 * The verdict in a call response's serialized header map (`length` bytes at
 * `base`, borrowed). Versions equal to the snapshot's (`rulesInForce`,
 * `modelInForce`) or to the last answer's reuse those strings.
 */
export function readVerdict(base: usize, length: i32, rulesInForce: string, modelInForce: string): Verdict {
  const h = SUMMARY;
  h.scan(base, length);
  const v = verdict.begin();
  if (!h.equals(STATUS, STATUS_OK)) return v.fail('status ' + clip(h.valueOrEmpty(STATUS)));
  if (h.equals(DECISION, 'allow')) v.kind = VerdictKind.ALLOW;
  else if (h.equals(DECISION, 'deny')) v.kind = VerdictKind.DENY;
  else return v.fail('missing or unknown x-atp-decision');
  if (!isIdentifierBytes(h.valuePtr(DECISION_ID), h.valueSize(DECISION_ID), MAX_REQUEST_ID_CHARS)) {
    return v.fail('missing or malformed x-atp-decision-id');
  }
  v.decisionId = h.valueOrEmpty(DECISION_ID);
  if (isIdentifierBytes(h.valuePtr(NODE), h.valueSize(NODE), MAX_SIDECAR_HEADER_CHARS))
    v.node = h.valueOrEmpty(NODE);
  if (h.valueSize(DEGRADED) > 0) {
    const degraded = h.valueOrEmpty(DEGRADED);
    if (isIdentifierList(degraded, MAX_SIDECAR_HEADER_CHARS)) v.degraded = degraded;
  }
  v.rulesVersion = version(h, RULES_VERSION, rulesInForce, lastRulesVersion);
  v.modelVersion = version(h, MODEL_VERSION, modelInForce, lastModelVersion);
  if (v.rulesVersion.length > 0) lastRulesVersion = v.rulesVersion;
  if (v.modelVersion.length > 0) lastModelVersion = v.modelVersion;
  v.unitsCount = parseUnitsList(h.valuePtr(UNITS_P10), h.valueSize(UNITS_P10), v.units);
  // Only an allow holds stock; a token on anything else has nothing to release and is ignored.
  if (v.kind == VerdictKind.ALLOW && h.has(HOLD_TOKEN)) {
    if (isHoldTokenBytes(h.valuePtr(HOLD_TOKEN), h.valueSize(HOLD_TOKEN)))
      v.holdToken = h.valueOrEmpty(HOLD_TOKEN);
    else v.holdTokenDropped = true;
  }
  return v;
}

// The versions the last answers carried: they change with a rollout, not per request.
let lastRulesVersion = '';
let lastModelVersion = '';

/**
 * A version header when it is an identifier ('' otherwise). Equal to the
 * version in force or to the last one seen, it reuses that string instead of
 * decoding a new one.
 */
function version(h: HeaderSlots, i: i32, inForce: string, lastSeen: string): string {
  const ptr = h.valuePtr(i);
  const size = h.valueSize(i);
  if (!isIdentifierBytes(ptr, size, MAX_VERSION_CHARS)) return '';
  if (inForce.length > 0 && bytesEqual(ptr, size, inForce)) return inForce;
  if (lastSeen.length > 0 && bytesEqual(ptr, size, lastSeen)) return lastSeen;
  return h.valueOrEmpty(i);
}

function clip(s: string): string {
  if (s.length > MAX_STATUS_ECHO) return s.substring(0, MAX_STATUS_ECHO);
  return s;
}
