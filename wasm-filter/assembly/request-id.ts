// A request id for requests that arrive without a usable x-request-id (Envoy
// normally sets one). Unique enough to join logs: the time, the root context
// id (one per worker) and a per-worker counter. No host calls.

const HEX_DIGITS = '0123456789abcdef';

export function generateRequestId(nowNs: u64, rootContextId: u32, counter: u32): string {
  return 'atp-' + hex(nowNs, 16) + '-' + rootContextId.toString() + '-' + counter.toString();
}

function hex(v: u64, digits: i32): string {
  let out = '';
  for (let i = digits - 1; i >= 0; i--) {
    out += HEX_DIGITS.charAt(<i32>((v >> <u64>(i * 4)) & 0xf));
  }
  return out;
}
