// Region names, checked exactly as parseRegionName in proto/v1/regions.ts
// (REGION_NAME_RE = ^[a-z][a-z0-9]*(-[a-z0-9]+)*$, at most MAX_REGION_NAME):
// a region the filter accepts is one every other component accepts.

import { MAX_REGION_CHARS } from '../constants';

export const REGION_NAME_RULE =
  'expected a region name (lowercase letters and digits, words joined by "-", at most ' +
  MAX_REGION_CHARS.toString() +
  ')';

const HYPHEN: i32 = 0x2d;

function isLowerLetter(c: i32): bool {
  return c >= 0x61 && c <= 0x7a;
}

function isLowerAlphanumeric(c: i32): bool {
  return isLowerLetter(c) || (c >= 0x30 && c <= 0x39);
}

/** True when s is a region name: [a-z][a-z0-9]*(-[a-z0-9]+)*, 1..MAX_REGION_CHARS characters. */
export function isRegionName(s: string): bool {
  const n = s.length;
  if (n == 0 || n > MAX_REGION_CHARS) return false;
  if (!isLowerLetter(s.charCodeAt(0))) return false;
  let afterHyphen = false;
  for (let i = 1; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c == HYPHEN) {
      if (afterHyphen) return false;
      afterHyphen = true;
    } else if (isLowerAlphanumeric(c)) {
      afterHyphen = false;
    } else {
      return false;
    }
  }
  return !afterHyphen;
}
