// Is a client's content-type JSON? The media type before any parameter,
// trimmed, compared case-insensitively with application/json (RFC 9110 media
// types are case-insensitive). Read in place from the header map's bytes. No host calls.

const EXPECTED = 'application/json';
const SEMICOLON: i32 = 0x3b;
const SPACE: i32 = 0x20;
const TAB: i32 = 0x09;
const UPPER_A: i32 = 0x41;
const UPPER_Z: i32 = 0x5a;
const CASE_BIT: i32 = 0x20;

/** The `length` bytes at `ptr` (a header value) name application/json, parameters aside. */
export function isJsonContentTypeBytes(ptr: usize, length: i32): bool {
  let start = 0;
  while (start < length && isBlank(byteAt(ptr, start))) start++;
  let end = start;
  while (end < length && byteAt(ptr, end) != SEMICOLON) end++;
  while (end > start && isBlank(byteAt(ptr, end - 1))) end--;
  if (end - start != EXPECTED.length) return false;
  for (let i = 0; i < EXPECTED.length; i++) {
    let c = byteAt(ptr, start + i);
    if (c >= UPPER_A && c <= UPPER_Z) c |= CASE_BIT;
    if (c != EXPECTED.charCodeAt(i)) return false;
  }
  return true;
}

function byteAt(ptr: usize, i: i32): i32 {
  return <i32>load<u8>(ptr + <usize>i);
}

function isBlank(c: i32): bool {
  return c == SPACE || c == TAB;
}
