// The request headers the filter reads, from one proxy_get_header_map_pairs
// result (header-map-reader.ts): this hook is on the fast path, and one host
// call per header (each also making the host call back into malloc) cost more
// than the rest of the hook. Values are read in place; only the path and the
// request id become strings. No host calls.

import {
  HEADER_BUYER_ZONE,
  HEADER_CONTENT_LENGTH,
  HEADER_CONTENT_TYPE,
  HEADER_DECISION,
  HEADER_DECISION_ID,
  HEADER_DEGRADED,
  HEADER_HOLD_TOKEN,
  HEADER_METHOD,
  HEADER_NODE,
  HEADER_ORIGIN_REGION,
  HEADER_PATH,
  HEADER_REASON,
  HEADER_REQUEST_ID,
} from '../constants';
import { HEADER_BUYER_KEY, HEADER_SESSION_KEY } from '../experiments/filter-experiment';
import { HeaderNames, HeaderSlots } from '../host/header-map-reader';
import { parseDecimalBytes } from '../text/identifiers';
import { isJsonContentTypeBytes } from './content-type';

/** The x-atp-* headers a client must not send (the filter sets them), as bits. */
export const FORGED_DECISION: u32 = 1;
export const FORGED_DECISION_ID: u32 = 2;
export const FORGED_NODE: u32 = 4;
export const FORGED_DEGRADED: u32 = 8;
export const FORGED_REASON: u32 = 16;
export const FORGED_HOLD_TOKEN: u32 = 32;
/** Not forged but mesh-internal (HEADER_ORIGIN_REGION): read, then never passed upstream. */
export const FORGED_ORIGIN_REGION: u32 = 64;

/** originRegionIndex: no origin header, or it names this filter's own region. */
export const ORIGIN_OWN: i32 = -1;
/** originRegionIndex: an origin region this filter does not answer for (counted, never forwarded). */
export const ORIGIN_REFUSED: i32 = -2;

const PATH: i32 = 0;
const METHOD: i32 = 1;
const REQUEST_ID: i32 = 2;
const BUYER_ZONE: i32 = 3;
const CONTENT_TYPE: i32 = 4;
const CONTENT_LENGTH: i32 = 5;
const BUYER_KEY: i32 = 6;
const SESSION_KEY: i32 = 7;
const FIRST_FORGED: i32 = 8;
const ORIGIN_REGION: i32 = 14;

const NAMES = new HeaderNames([
  HEADER_PATH,
  HEADER_METHOD,
  HEADER_REQUEST_ID,
  HEADER_BUYER_ZONE,
  HEADER_CONTENT_TYPE,
  HEADER_CONTENT_LENGTH,
  HEADER_BUYER_KEY,
  HEADER_SESSION_KEY,
  HEADER_DECISION,
  HEADER_DECISION_ID,
  HEADER_NODE,
  HEADER_DEGRADED,
  HEADER_REASON,
  HEADER_HOLD_TOKEN,
  HEADER_ORIGIN_REGION,
]);

/**
 * The request headers of the stream being handled, read in place from the
 * borrowed header map: valid until the map is released (the end of the hook).
 * One instance, reused by every request.
 */
export class RequestHeaders {
  private slots: HeaderSlots = new HeaderSlots(NAMES);

  /** Reads the serialized map of `length` bytes at `base`. */
  scan(base: usize, length: i32): RequestHeaders {
    this.slots.scan(base, length);
    return this;
  }

  path(): string | null {
    return this.slots.value(PATH);
  }

  isMethod(method: string): bool {
    return this.slots.equals(METHOD, method);
  }

  requestId(): string | null {
    return this.slots.value(REQUEST_ID);
  }

  buyerZone(): string | null {
    return this.slots.value(BUYER_ZONE);
  }

  /**
   * The experiment key: the buyer key, else the session key. Read in place
   * (never a string): only its experiment bucket leaves the filter.
   */
  hasBuyerKey(): bool {
    return this.keySlot() >= 0;
  }

  buyerKeyPtr(): usize {
    return this.slots.valuePtr(this.keySlot());
  }

  buyerKeySize(): i32 {
    return this.slots.valueSize(this.keySlot());
  }

  private keySlot(): i32 {
    if (this.slots.has(BUYER_KEY) && this.slots.valueSize(BUYER_KEY) > 0) return BUYER_KEY;
    if (this.slots.has(SESSION_KEY) && this.slots.valueSize(SESSION_KEY) > 0) return SESSION_KEY;
    return -1;
  }

  /** True when there is no content-type, or it is JSON. */
  contentTypeIsJsonOrAbsent(): bool {
    if (!this.slots.has(CONTENT_TYPE)) return true;
    return isJsonContentTypeBytes(this.slots.valuePtr(CONTENT_TYPE), this.slots.valueSize(CONTENT_TYPE));
  }

  /** The content-length as a number; -1 when absent or not a plain decimal. */
  contentLength(): i64 {
    if (!this.slots.has(CONTENT_LENGTH)) return -1;
    return parseDecimalBytes(this.slots.valuePtr(CONTENT_LENGTH), this.slots.valueSize(CONTENT_LENGTH));
  }

  /**
   * The failover origin (x-atp-origin-region, compared in place): its index
   * in `failoverFor` when it names one of them exactly, ORIGIN_OWN when absent
   * or `own`, ORIGIN_REFUSED for any other value (unknown or malformed).
   */
  originRegionIndex(failoverFor: string[], own: string): i32 {
    if (!this.slots.has(ORIGIN_REGION)) return ORIGIN_OWN;
    for (let i = 0; i < failoverFor.length; i++) {
      if (this.slots.equals(ORIGIN_REGION, unchecked(failoverFor[i]))) return i;
    }
    if (this.slots.equals(ORIGIN_REGION, own)) return ORIGIN_OWN;
    return ORIGIN_REFUSED;
  }

  /** FORGED_* bits of the x-atp-* headers present. */
  forged(): u32 {
    let bits: u32 = 0;
    for (let i = FIRST_FORGED; i < NAMES.length; i++) {
      if (this.slots.has(i)) bits |= (<u32>1) << (<u32>(i - FIRST_FORGED));
    }
    return bits;
  }
}
