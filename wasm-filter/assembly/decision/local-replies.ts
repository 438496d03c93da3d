// Bodies of the filter's local replies. Clients branch on `error`; the other
// fields are for people (and `reason` for dashboards). No host calls.

import { ByteWriter } from '../text/byte-writer';

export const DETAILS_INVALID_REQUEST = 'atp_invalid_request';
export const DETAILS_UNSUPPORTED_MEDIA_TYPE = 'atp_unsupported_media_type';
export const DETAILS_DENIED = 'atp_denied';
export const DETAILS_UNAVAILABLE = 'atp_unavailable';

export const STATUS_INVALID_REQUEST: u32 = 400;
export const STATUS_UNSUPPORTED_MEDIA_TYPE: u32 = 415;
export const STATUS_DENIED: u32 = 409;
export const STATUS_UNAVAILABLE: u32 = 503;

const DENIED_MESSAGE = 'one or more items cannot be promised right now';
const HELD_MESSAGE = 'an item is under a compliance hold';
const MEDIA_TYPE_MESSAGE = 'content-type must be application/json';
const ATP_UNAVAILABLE_BODY = '{"error":"atp_unavailable","retryable":true}';

// Bodies are written into one reused buffer and made a string once (no concatenation chain).
const body = new ByteWriter(256);

/** 400: the client's body is wrong; `field` is a path such as items[0].qty, or $ for the whole body. */
export function invalidRequestBody(field: string, message: string): string {
  body.reset().text('{"error":"invalid_request","field":').jsonString(field);
  return body.text(',"message":').jsonString(message).text('}').toString();
}

/** 415: the body is announced as something other than JSON. */
export function unsupportedMediaTypeBody(): string {
  return body
    .reset()
    .text('{"error":"unsupported_media_type","message":')
    .jsonString(MEDIA_TYPE_MESSAGE)
    .text('}')
    .toString();
}

/**
 * 409: the basket cannot be promised. `reason` is empty for a sidecar deny
 * (its reasons are per item, in the sidecar's answer) and a reason code for a
 * deny the filter made itself (COMPLIANCE_HOLD, CACHED_DECISION).
 */
export function deniedBody(decisionId: string, reason: string, sku: string): string {
  body.reset().text('{"error":"unavailable","decision_id":').jsonString(decisionId);
  if (reason.length > 0) body.text(',"reason":').jsonString(reason);
  if (sku.length > 0) body.text(',"sku":').jsonString(sku);
  let message = DENIED_MESSAGE;
  if (sku.length > 0) message = HELD_MESSAGE;
  return body.text(',"message":').jsonString(message).text('}').toString();
}

/** 503: no decision could be made in time; the same request may succeed later. */
export function atpUnavailableBody(): string {
  return ATP_UNAVAILABLE_BODY;
}
