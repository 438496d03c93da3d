// Splitting the '|'-separated records the filter keeps in shared data. The
// last field takes the rest of the text, so it may itself contain '|'.
// Bounded, allocation-light, no host calls.

const SEPARATOR: i32 = 0x7c; // '|'

/** The first `count` fields of `text` (the last one holding the remainder), or null when there are fewer. */
export function splitFields(text: string, count: i32): string[] | null {
  const out: string[] = [];
  let start = 0;
  const n = text.length;
  for (let i = 0; i < count - 1; i++) {
    let at = -1;
    for (let j = start; j < n; j++) {
      if (text.charCodeAt(j) == SEPARATOR) {
        at = j;
        break;
      }
    }
    if (at < 0) return null;
    out.push(text.substring(start, at));
    start = at + 1;
  }
  out.push(text.substring(start, n));
  return out;
}

/** A non-negative decimal of at most 15 digits, or -1. */
export function parseCount(s: string): i64 {
  const n = s.length;
  if (n == 0 || n > 15) return -1;
  let v: i64 = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + <i64>(c - 0x30);
  }
  return v;
}
