// The one document that leaves the pod: the sidecar check request, in the
// JSON shape of proto/v1/decision.ts (checkRequestToJson). It carries only the
// request id, the region, the coarse buyer zone, the channel and the items —
// never headers, cookies, user ids or other body fields (DESIGN §7).

import { CheckoutItem } from './checkout-request';
import { CHANNEL_CHECKOUT } from './constants';
import { jsonString } from './json-writer';

export function buildSidecarRequestJson(
  requestId: string,
  region: string,
  buyerZone: string,
  items: CheckoutItem[],
): string {
  let json =
    '{"request_id":' +
    jsonString(requestId) +
    ',"region":' +
    jsonString(region) +
    ',"buyer_zone":' +
    jsonString(buyerZone) +
    ',"channel":' +
    jsonString(CHANNEL_CHECKOUT) +
    ',"items":[';
  const n = items.length;
  for (let i = 0; i < n; i++) {
    const item = unchecked(items[i]);
    if (i > 0) json += ',';
    json += '{"sku":' + jsonString(item.sku) + ',"qty":' + item.qty.toString() + '}';
  }
  return json + ']}';
}
