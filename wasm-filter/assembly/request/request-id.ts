// A request id for requests that arrive without a usable x-request-id (Envoy
// normally sets one). Unique enough to join logs: the time, the root context
// id (one per worker) and a per-worker counter, written into a reused buffer
// and made a string once. No host calls.

import { ByteWriter } from '../text/byte-writer';

const HEX_DIGITS = '0123456789abcdef';
const TIME_HEX_DIGITS: i32 = 16;
const id = new ByteWriter(64);

/** atp-<time as 16 hex digits>-<root context id>-<counter> */
export function generateRequestId(nowNs: u64, rootContextId: u32, counter: u32): string {
  id.reset().text('atp-');
  for (let i = TIME_HEX_DIGITS - 1; i >= 0; i--) {
    id.byte(<u8>HEX_DIGITS.charCodeAt(<i32>((nowNs >> <u64>(i * 4)) & 0xf)));
  }
  return id
    .byte(0x2d)
    .decimal(<u64>rootContextId)
    .byte(0x2d)
    .decimal(<u64>counter)
    .toString();
}
