// Last-known margins, the pure half: what the sidecar said about each
// (region, buyer zone, sku)'s conservative stock (units_p10, header
// x-atp-units-p10), recorded so that during a sidecar outage a basket can be
// allowed "only with a wide last-known margin" (DESIGN §6). Records live in
// shared-data slots like the decision cache (margin-store.ts). No host calls.

import { MAX_CHECKOUT_ITEMS } from './constants';
import { parseCount, splitFields } from './text-fields';

const RECORD_TAG = 'm1';
const RECORD_FIELDS: i32 = 4;
const SEPARATOR: i32 = 0x2c; // ','
const SPACE: i32 = 0x20;
/** A units value beyond this is not believed (the header is malformed). */
const MAX_UNITS: i64 = 1000000000000;

export class MarginRecord {
  units: i64 = 0;
  atMs: u64 = 0;
  key: string = '';
}

/** region|zone|sku: identifiers, so the separator cannot occur inside. */
export function marginKey(region: string, zone: string, sku: string): string {
  return region + '|' + zone + '|' + sku;
}

export function encodeMargin(units: i64, atMs: u64, key: string): string {
  return RECORD_TAG + '|' + atMs.toString() + '|' + units.toString() + '|' + key;
}

export function decodeMargin(text: string): MarginRecord | null {
  const f = splitFields(text, RECORD_FIELDS);
  if (f === null || unchecked(f[0]) != RECORD_TAG) return null;
  const at = parseCount(unchecked(f[1]));
  const units = parseCount(unchecked(f[2]));
  if (at < 0 || units < 0) return null;
  const r = new MarginRecord();
  r.atMs = <u64>at;
  r.units = units;
  r.key = unchecked(f[3]);
  return r;
}

/**
 * The x-atp-units-p10 header: exactly `count` non-negative integers separated
 * by commas (optional spaces), one per item of the request in request order.
 * Null when absent, malformed or of the wrong length: nothing is recorded then.
 */
export function parseUnitsList(header: string, count: i32): i64[] | null {
  if (count <= 0 || count > MAX_CHECKOUT_ITEMS || header.length == 0) return null;
  const out: i64[] = [];
  let value: i64 = -1;
  const n = header.length;
  for (let i = 0; i <= n; i++) {
    let c = SEPARATOR;
    if (i < n) c = header.charCodeAt(i);
    if (c == SPACE) continue;
    if (c == SEPARATOR) {
      if (value < 0 || out.length >= count) return null;
      out.push(value);
      value = -1;
      continue;
    }
    if (c < 0x30 || c > 0x39) return null;
    if (value < 0) value = 0;
    value = value * 10 + <i64>(c - 0x30);
    if (value > MAX_UNITS) return null;
  }
  if (out.length != count) return null;
  return out;
}

/** Is this record fresh enough, for this key, to vouch for `qty` more units with `wideMargin` to spare? */
export function marginAllows(
  r: MarginRecord,
  key: string,
  qty: i32,
  wideMargin: u32,
  nowMs: u64,
  maxAgeMs: u32,
): bool {
  if (r.key != key || maxAgeMs == 0) return false;
  if (nowMs < r.atMs || nowMs - r.atMs > <u64>maxAgeMs) return false;
  return r.units - <i64>qty >= <i64>wideMargin;
}
