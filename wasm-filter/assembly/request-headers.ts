// The request headers the filter reads, from one proxy_get_header_map_pairs
// result (header-map-reader.ts): this hook is on the fast path, and one host
// call per header (each also making the host call back into malloc) cost more
// than the rest of the hook. No host calls.

import {
  HEADER_BUYER_ZONE,
  HEADER_CONTENT_LENGTH,
  HEADER_CONTENT_TYPE,
  HEADER_DECISION,
  HEADER_DECISION_ID,
  HEADER_DEGRADED,
  HEADER_METHOD,
  HEADER_NODE,
  HEADER_REASON,
  HEADER_REQUEST_ID,
} from './constants';
import { findHeaders, HeaderNames } from './header-map-reader';

/** The x-atp-* headers a client must not send (the filter sets them), as bits. */
export const FORGED_DECISION: u32 = 1;
export const FORGED_DECISION_ID: u32 = 2;
export const FORGED_NODE: u32 = 4;
export const FORGED_DEGRADED: u32 = 8;
export const FORGED_REASON: u32 = 16;

const NAMES = new HeaderNames([
  HEADER_METHOD,
  HEADER_REQUEST_ID,
  HEADER_BUYER_ZONE,
  HEADER_CONTENT_TYPE,
  HEADER_CONTENT_LENGTH,
  HEADER_DECISION,
  HEADER_DECISION_ID,
  HEADER_NODE,
  HEADER_DEGRADED,
  HEADER_REASON,
]);
// The forged ones are only checked for presence.
const DECODE: bool[] = [true, true, true, true, true, false, false, false, false, false];
const FIRST_FORGED: i32 = 5;

export class RequestHeaders {
  method: string | null = null;
  requestId: string | null = null;
  buyerZone: string | null = null;
  contentType: string | null = null;
  contentLength: string | null = null;
  /** FORGED_* bits of the x-atp-* headers present. */
  forged: u32 = 0;
}

export function readRequestHeaders(map: Uint8Array): RequestHeaders {
  const found = findHeaders(map, NAMES, DECODE);
  const h = new RequestHeaders();
  h.method = unchecked(found[0]);
  h.requestId = unchecked(found[1]);
  h.buyerZone = unchecked(found[2]);
  h.contentType = unchecked(found[3]);
  h.contentLength = unchecked(found[4]);
  for (let i = FIRST_FORGED; i < found.length; i++) {
    if (unchecked(found[i]) !== null) h.forged |= (<u32>1) << (<u32>(i - FIRST_FORGED));
  }
  return h;
}
