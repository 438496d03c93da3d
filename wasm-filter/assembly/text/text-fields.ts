// Reading the '|'-separated records the filter keeps in shared data, in place
// (the last field takes the rest of the record, so it may itself contain
// '|'). Bounded, allocation-free, no host calls.

/** Digits of a stored number accepted. */
const MAX_COUNT_DIGITS: i32 = 15;

/** Index of the next `separator` byte at or after `from` among `length` bytes at `base`, or -1. */
export function nextSeparator(base: usize, from: i32, length: i32, separator: u8): i32 {
  for (let i = from; i < length; i++) {
    if (load<u8>(base + <usize>i) == separator) return i;
  }
  return -1;
}

/** A non-negative decimal of at most 15 digits, or -1. */
export function parseCount(s: string): i64 {
  const n = s.length;
  if (n == 0 || n > MAX_COUNT_DIGITS) return -1;
  let v: i64 = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + <i64>(c - 0x30);
  }
  return v;
}

/** parseCount over the `length` bytes at `ptr`. */
export function parseCountBytes(ptr: usize, length: i32): i64 {
  if (length == 0 || length > MAX_COUNT_DIGITS) return -1;
  let v: i64 = 0;
  for (let i = 0; i < length; i++) {
    const c = <i32>load<u8>(ptr + <usize>i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + <i64>(c - 0x30);
  }
  return v;
}
