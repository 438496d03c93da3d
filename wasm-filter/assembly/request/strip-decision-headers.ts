// Removes x-atp-* request headers on ATP routes before the request goes on:
// the decision headers only the filter may set, and the mesh-internal origin
// region (read first from the borrowed copy of the map).

import {
  HEADER_DECISION,
  HEADER_DECISION_ID,
  HEADER_DEGRADED,
  HEADER_HOLD_TOKEN,
  HEADER_NODE,
  HEADER_ORIGIN_REGION,
  HEADER_REASON,
} from '../constants';
import * as host from '../host/host';
import {
  FORGED_DECISION,
  FORGED_DECISION_ID,
  FORGED_DEGRADED,
  FORGED_HOLD_TOKEN,
  FORGED_NODE,
  FORGED_ORIGIN_REGION,
  FORGED_REASON,
} from './request-headers';

/** Removes the x-atp-* headers a client sent (FORGED_* bits). */
export function stripDecisionHeaders(forged: u32): void {
  if ((forged & FORGED_DECISION) != 0) host.removeRequestHeader(HEADER_DECISION);
  if ((forged & FORGED_DECISION_ID) != 0) host.removeRequestHeader(HEADER_DECISION_ID);
  if ((forged & FORGED_NODE) != 0) host.removeRequestHeader(HEADER_NODE);
  if ((forged & FORGED_DEGRADED) != 0) host.removeRequestHeader(HEADER_DEGRADED);
  if ((forged & FORGED_REASON) != 0) host.removeRequestHeader(HEADER_REASON);
  if ((forged & FORGED_HOLD_TOKEN) != 0) host.removeRequestHeader(HEADER_HOLD_TOKEN);
  if ((forged & FORGED_ORIGIN_REGION) != 0) host.removeRequestHeader(HEADER_ORIGIN_REGION);
}
