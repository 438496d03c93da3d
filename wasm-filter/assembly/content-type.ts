// Is a client's content-type JSON? The media type before any parameter,
// trimmed, compared case-insensitively with application/json (RFC 9110 media
// types are case-insensitive). No host calls.

const EXPECTED = 'application/json';
const SEMICOLON: i32 = 0x3b;
const SPACE: i32 = 0x20;
const TAB: i32 = 0x09;
const UPPER_A: i32 = 0x41;
const UPPER_Z: i32 = 0x5a;
const CASE_BIT: i32 = 0x20;

export function isJsonContentType(value: string): bool {
  const n = value.length;
  let start = 0;
  while (start < n && isBlank(value.charCodeAt(start))) start++;
  let end = start;
  while (end < n && value.charCodeAt(end) != SEMICOLON) end++;
  while (end > start && isBlank(value.charCodeAt(end - 1))) end--;
  if (end - start != EXPECTED.length) return false;
  for (let i = 0; i < EXPECTED.length; i++) {
    let c = value.charCodeAt(start + i);
    if (c >= UPPER_A && c <= UPPER_Z) c |= CASE_BIT;
    if (c != EXPECTED.charCodeAt(i)) return false;
  }
  return true;
}

function isBlank(c: i32): bool {
  return c == SPACE || c == TAB;
}
