// Bodies of the filter's local replies. Clients branch on `error`; the other
// fields are for people. No host calls.

import { jsonString } from './json-writer';

export const DETAILS_INVALID_REQUEST = 'atp_invalid_request';
export const DETAILS_DENIED = 'atp_denied';
export const DETAILS_UNAVAILABLE = 'atp_unavailable';

export const STATUS_INVALID_REQUEST: u32 = 400;
export const STATUS_DENIED: u32 = 409;
export const STATUS_UNAVAILABLE: u32 = 503;

const DENIED_MESSAGE = 'one or more items cannot be promised right now';

/** 400: the client's body is wrong; `field` is a path such as items[0].qty, or $ for the whole body. */
export function invalidRequestBody(field: string, message: string): string {
  return (
    '{"error":"invalid_request","field":' + jsonString(field) + ',"message":' + jsonString(message) + '}'
  );
}

/** 409: the sidecar decided the basket cannot be promised. */
export function deniedBody(decisionId: string): string {
  return (
    '{"error":"unavailable","decision_id":' +
    jsonString(decisionId) +
    ',"message":' +
    jsonString(DENIED_MESSAGE) +
    '}'
  );
}

/** 503: no decision could be made in time; the same request may succeed later. */
export function atpUnavailableBody(): string {
  return '{"error":"atp_unavailable","retryable":true}';
}
