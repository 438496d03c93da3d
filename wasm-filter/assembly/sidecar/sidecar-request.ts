// The one document that leaves the pod: the sidecar check request, in the
// JSON shape of proto/v1/decision.ts (checkRequestToJson). It carries only the
// request id, the region, the coarse buyer zone, the channel and the items —
// never headers, cookies, user ids or other body fields (DESIGN §7).
// Written straight into a reused byte buffer (the call's body), every string
// escaped (ByteWriter.jsonString): no string is built per request.

import { CheckoutItem } from '../request/checkout-request';
import { CHANNEL_CHECKOUT } from '../constants';
import { FilterExperiment } from '../experiments/filter-experiment';
import { ByteWriter } from '../text/byte-writer';

/** Writes the request into `w` (reset first); send its bytes. */
export function writeSidecarRequest(
  w: ByteWriter,
  requestId: string,
  region: string,
  buyerZone: string,
  items: CheckoutItem[],
  experiment: FilterExperiment | null,
  bucket: u32,
  arm: string,
): ByteWriter {
  w.reset().text('{"request_id":').jsonString(requestId);
  w.text(',"region":').jsonString(region);
  w.text(',"buyer_zone":').jsonString(buyerZone);
  w.text(',"channel":').jsonString(CHANNEL_CHECKOUT);
  w.text(',"items":[');
  const n = items.length;
  for (let i = 0; i < n; i++) {
    const item = unchecked(items[i]);
    if (i > 0) w.byte(0x2c); // ,
    w.text('{"sku":')
      .jsonString(item.sku)
      .text(',"qty":')
      .decimal(<u64>item.qty)
      .byte(0x7d); // }
  }
  w.byte(0x5d); // ]
  // In place of the buyer key: the experiment, the key's bucket and its arm (never the key).
  if (experiment !== null) {
    w.text(',"experiment":{"id":').jsonString(experiment.id);
    w.text(',"bucket":').decimal(<u64>bucket);
    if (arm.length > 0) w.text(',"arm":').jsonString(arm);
    w.byte(0x7d); // }
  }
  return w.byte(0x7d); // }
}
