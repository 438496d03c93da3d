// The shape of the sidecar's hold token, checked in place before the filter
// keeps it: the token goes to the checkout service, which sends it back to
// the sidecar to release or confirm its hold, so the filter passes on only
// what the sidecar can have signed. The sidecar writes
// base64url(HMAC-SHA256(decision id)[0..16)) without padding
// (sidecar/src/adapters/http/hold-token.ts): exactly HOLD_TOKEN_CHARS
// characters of [A-Za-z0-9_-], the last one's unused low bits zero (the
// canonical encoding Node writes). No host calls, no allocation.

import { HOLD_TOKEN_BYTES, HOLD_TOKEN_CHARS } from '../constants';

/** Bits of the last character that encode no byte (4 for 16 bytes in 22 characters): zero when canonical. */
const PAD_BITS: i32 = HOLD_TOKEN_CHARS * 6 - HOLD_TOKEN_BYTES * 8;
const PAD_MASK: i32 = (1 << PAD_BITS) - 1;

/** The 6-bit value of a base64url character, or -1. */
function sextet(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41; // A-Z
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26; // a-z
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52; // 0-9
  if (c == 0x2d) return 62; // -
  if (c == 0x5f) return 63; // _
  return -1;
}

/** True when the `length` bytes at `ptr` are a well-formed hold token (see above). */
export function isHoldTokenBytes(ptr: usize, length: i32): bool {
  if (length != HOLD_TOKEN_CHARS) return false;
  let last: i32 = 0;
  for (let i = 0; i < length; i++) {
    last = sextet(<i32>load<u8>(ptr + <usize>i));
    if (last < 0) return false;
  }
  return (last & PAD_MASK) == 0;
}
