// Reads the sidecar's summary headers into a verdict. The filter never parses
// the response body: the sidecar answers 200 with the decision summarised in
// x-atp-* headers (contract in wasm-filter/README.md). Anything missing or
// malformed is a sidecar failure, never an allow. No host calls.

import {
  HEADER_DECISION,
  HEADER_DECISION_ID,
  HEADER_DEGRADED,
  HEADER_MODEL_VERSION,
  HEADER_NODE,
  HEADER_RULES_VERSION,
  HEADER_STATUS,
  HEADER_UNITS_P10,
  MAX_REQUEST_ID_CHARS,
  MAX_SIDECAR_HEADER_CHARS,
  MAX_VERSION_CHARS,
} from './constants';
import { findHeaders, HeaderNames } from './header-map-reader';
import { isIdentifier, isIdentifierList } from './identifiers';

const SUMMARY_NAMES = new HeaderNames([
  HEADER_STATUS,
  HEADER_DECISION,
  HEADER_DECISION_ID,
  HEADER_NODE,
  HEADER_DEGRADED,
  HEADER_MODEL_VERSION,
  HEADER_RULES_VERSION,
  HEADER_UNITS_P10,
]);
const DECODE_ALL: bool[] = [true, true, true, true, true, true, true, true];

export enum VerdictKind {
  ALLOW = 0,
  DENY = 1,
  FAILURE = 2,
}

/** The raw summary as the host returned it; `received` is false when the callback came without headers. */
export class SidecarSummary {
  received: bool = false;
  status: string = '';
  decision: string = '';
  decisionId: string = '';
  node: string = '';
  degraded: string = '';
  modelVersion: string = '';
  rulesVersion: string = '';
  unitsP10: string = '';
}

/** The summary headers of a call response, from its serialized header map (one host call for all of them). */
export function readSummary(map: Uint8Array): SidecarSummary {
  const found = findHeaders(map, SUMMARY_NAMES, DECODE_ALL);
  const s = new SidecarSummary();
  s.received = true;
  s.status = orEmpty(unchecked(found[0]));
  s.decision = orEmpty(unchecked(found[1]));
  s.decisionId = orEmpty(unchecked(found[2]));
  s.node = orEmpty(unchecked(found[3]));
  s.degraded = orEmpty(unchecked(found[4]));
  s.modelVersion = orEmpty(unchecked(found[5]));
  s.rulesVersion = orEmpty(unchecked(found[6]));
  s.unitsP10 = orEmpty(unchecked(found[7]));
  return s;
}

function orEmpty(s: string | null): string {
  if (s === null) return '';
  return s;
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
  /** Raw x-atp-units-p10 (parsed against the request's items by the caller). */
  unitsP10: string = '';
  /** Why a FAILURE is one, for logs and metrics. */
  failure: string = '';
}

export function readVerdict(summary: SidecarSummary): Verdict {
  const v = new Verdict();
  if (!summary.received) return failed(v, 'no response (reset or timeout)');
  if (summary.status != '200') return failed(v, 'status ' + clip(summary.status));
  if (summary.decision == 'allow') v.kind = VerdictKind.ALLOW;
  else if (summary.decision == 'deny') v.kind = VerdictKind.DENY;
  else return failed(v, 'missing or unknown x-atp-decision');
  if (!isIdentifier(summary.decisionId, MAX_REQUEST_ID_CHARS)) {
    return failed(v, 'missing or malformed x-atp-decision-id');
  }
  v.decisionId = summary.decisionId;
  if (isIdentifier(summary.node, MAX_SIDECAR_HEADER_CHARS)) v.node = summary.node;
  if (isIdentifierList(summary.degraded, MAX_SIDECAR_HEADER_CHARS)) v.degraded = summary.degraded;
  if (isIdentifier(summary.rulesVersion, MAX_VERSION_CHARS)) v.rulesVersion = summary.rulesVersion;
  if (isIdentifier(summary.modelVersion, MAX_VERSION_CHARS)) v.modelVersion = summary.modelVersion;
  v.unitsP10 = summary.unitsP10;
  return v;
}

function failed(v: Verdict, why: string): Verdict {
  v.kind = VerdictKind.FAILURE;
  v.decisionId = '';
  v.failure = why;
  return v;
}

function clip(s: string): string {
  if (s.length > 16) return s.substring(0, 16);
  return s;
}
