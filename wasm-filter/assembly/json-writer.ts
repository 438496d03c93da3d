// JSON string quoting for the few documents the filter writes (the sidecar
// request and local reply bodies). Values are mostly validated identifiers,
// but messages may carry echoed client text, so everything is escaped.

const HEX_DIGITS = '0123456789abcdef';

/** `s` as a JSON string literal, quotes included. */
export function jsonString(s: string): string {
  let out = '"';
  const n = s.length;
  let runStart = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c != 0x22 && c != 0x5c && c >= 0x20) continue;
    if (i > runStart) out += s.substring(runStart, i);
    runStart = i + 1;
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += '\\\\';
    else out += '\\u00' + HEX_DIGITS.charAt((c >> 4) & 0xf) + HEX_DIGITS.charAt(c & 0xf);
  }
  if (n > runStart) out += s.substring(runStart, n);
  return out + '"';
}
