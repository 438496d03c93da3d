// Identifier checks shared by the body parser, the configuration parser and
// the sidecar response reader. Identifiers travel in headers, JSON, Redis keys
// and metric labels, so they stay printable, ASCII and bounded — the same rule
// as ID_RE in proto/v1/validate.ts: [A-Za-z0-9][A-Za-z0-9._:-]*.

export const IDENTIFIER_RULE = 'may contain only letters, digits and . _ : - (not first)';

function isAlphanumeric(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isIdentifierTail(c: i32): bool {
  // . _ : -
  return isAlphanumeric(c) || c == 0x2e || c == 0x5f || c == 0x3a || c == 0x2d;
}

/** True when s matches [A-Za-z0-9][A-Za-z0-9._:-]* and has at most maxChars characters. */
export function isIdentifier(s: string, maxChars: i32): bool {
  const n = s.length;
  if (n == 0 || n > maxChars) return false;
  if (!isAlphanumeric(s.charCodeAt(0))) return false;
  for (let i = 1; i < n; i++) {
    if (!isIdentifierTail(s.charCodeAt(i))) return false;
  }
  return true;
}

/** A comma-separated list of identifiers (the degradations header), possibly empty. */
export function isIdentifierList(s: string, maxChars: i32): bool {
  const n = s.length;
  if (n > maxChars) return false;
  let atStart = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x2c) {
      if (atStart) return false;
      atStart = true;
      continue;
    }
    if (c == 0x20 && atStart) continue;
    if (atStart ? !isAlphanumeric(c) : !isIdentifierTail(c)) return false;
    atStart = false;
  }
  return n == 0 || !atStart;
}

/** Case-sensitive prefix test that cannot read past either string. */
export function hasPrefix(s: string, prefix: string): bool {
  const n = prefix.length;
  if (n > s.length) return false;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) != prefix.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * A non-negative decimal header value (content-length), read in place from the
 * `length` bytes at `ptr`; -1 when it is not one or is absurdly long.
 */
export function parseDecimalBytes(ptr: usize, length: i32): i64 {
  if (length == 0 || length > 15) return -1;
  let v: i64 = 0;
  for (let i = 0; i < length; i++) {
    const c = <i32>load<u8>(ptr + <usize>i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + <i64>(c - 0x30);
  }
  return v;
}

/** isIdentifier over the `length` bytes at `ptr` (a value read in place; identifiers are ASCII). */
export function isIdentifierBytes(ptr: usize, length: i32, maxChars: i32): bool {
  if (length == 0 || length > maxChars) return false;
  if (!isAlphanumeric(<i32>load<u8>(ptr))) return false;
  for (let i = 1; i < length; i++) {
    if (!isIdentifierTail(<i32>load<u8>(ptr + <usize>i))) return false;
  }
  return true;
}
