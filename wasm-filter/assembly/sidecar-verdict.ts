// Reads the sidecar's summary headers into a verdict. The filter never parses
// the response body: the sidecar answers 200 with the decision summarised in
// x-atp-* headers (contract in wasm-filter/README.md). Anything missing or
// malformed is a sidecar failure, never an allow. No host calls.

import { MAX_REQUEST_ID_CHARS, MAX_SIDECAR_HEADER_CHARS } from './constants';
import { isIdentifier, isIdentifierList } from './identifiers';

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
}

export class Verdict {
  kind: VerdictKind = VerdictKind.FAILURE;
  decisionId: string = '';
  /** Best node of the first item; empty when absent or malformed (optional header). */
  node: string = '';
  /** Comma-separated degradations in force; empty when none or malformed. */
  degraded: string = '';
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
