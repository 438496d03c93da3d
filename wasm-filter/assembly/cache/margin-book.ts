// Last-known margins, the pure half: what the sidecar said about each
// (region, buyer zone, sku)'s conservative stock (units_p10, header
// x-atp-units-p10), recorded so that during a sidecar outage a basket can be
// allowed "only with a wide last-known margin" (DESIGN §6). Records live in
// shared-data slots like the decision cache (margin-store.ts). Keys and
// records are ASCII, written and read as bytes in place. No host calls.

import { MAX_CHECKOUT_ITEMS } from '../constants';
import { ByteWriter, bytesEqual } from '../text/byte-writer';
import { nextSeparator, parseCountBytes } from '../text/text-fields';

const RECORD_TAG = 'm1';
const SEPARATOR: u8 = 0x7c; // '|'
const LIST_SEPARATOR: i32 = 0x2c; // ','
const SPACE: i32 = 0x20;
/** A units value beyond this is not believed (the header is malformed). */
const MAX_UNITS: i64 = 1000000000000;
/** parseUnitsList's answer for an absent, malformed or too long list. */
export const NO_UNITS: i32 = -1;

/** region|zone|sku: identifiers, so the separator cannot occur inside. */
export function writeMarginKey(w: ByteWriter, region: string, zone: string, sku: string): ByteWriter {
  return w.reset().text(region).byte(SEPARATOR).text(zone).byte(SEPARATOR).text(sku);
}

/** m1|atMs|units|key */
export function writeMarginRecord(w: ByteWriter, units: i64, atMs: u64, key: ByteWriter): ByteWriter {
  w.reset().text(RECORD_TAG).byte(SEPARATOR).decimal(atMs).byte(SEPARATOR);
  return w
    .decimal(<u64>units)
    .byte(SEPARATOR)
    .append(key);
}

/** A margin record read in place (valid while its bytes are). */
export class MarginRecord {
  units: i64 = 0;
  atMs: u64 = 0;
  keyPtr: usize = 0;
  keyLength: i32 = 0;
}

/** Reads a record from the `length` bytes at `base`; false when they are not one. */
export function readMargin(r: MarginRecord, base: usize, length: i32): bool {
  let end = nextSeparator(base, 0, length, SEPARATOR);
  if (end < 0 || !bytesEqual(base, end, RECORD_TAG)) return false;
  let at = end + 1;
  end = nextSeparator(base, at, length, SEPARATOR);
  if (end < 0) return false;
  const atMs = parseCountBytes(base + <usize>at, end - at);
  at = end + 1;
  end = nextSeparator(base, at, length, SEPARATOR);
  if (end < 0) return false;
  const units = parseCountBytes(base + <usize>at, end - at);
  if (atMs < 0 || units < 0) return false;
  r.atMs = <u64>atMs;
  r.units = units;
  r.keyPtr = base + <usize>(end + 1);
  r.keyLength = length - (end + 1);
  return true;
}

/**
 * The x-atp-units-p10 header (`length` bytes at `ptr`): non-negative integers
 * separated by commas (optional spaces), one per item of the request in
 * request order, into `out`. Returns how many, or NO_UNITS when absent,
 * malformed or longer than a basket can be; the caller records nothing unless
 * the count is the basket's.
 */
export function parseUnitsList(ptr: usize, length: i32, out: Int64Array): i32 {
  if (length <= 0) return NO_UNITS;
  let count = 0;
  let value: i64 = -1;
  for (let i = 0; i <= length; i++) {
    let c = LIST_SEPARATOR;
    if (i < length) c = <i32>load<u8>(ptr + <usize>i);
    if (c == SPACE) continue;
    if (c == LIST_SEPARATOR) {
      if (value < 0 || count >= MAX_CHECKOUT_ITEMS || count >= out.length) return NO_UNITS;
      store<i64>(out.dataStart + ((<usize>count) << 3), value);
      count++;
      value = -1;
      continue;
    }
    if (c < 0x30 || c > 0x39) return NO_UNITS;
    if (value < 0) value = 0;
    value = value * 10 + <i64>(c - 0x30);
    if (value > MAX_UNITS) return NO_UNITS;
  }
  return count;
}

/** Is this record fresh enough, for this key, to vouch for `qty` more units with `wideMargin` to spare? */
export function marginAllows(
  r: MarginRecord,
  key: ByteWriter,
  qty: i32,
  wideMargin: u32,
  nowMs: u64,
  maxAgeMs: u32,
): bool {
  if (r.keyLength != key.length || maxAgeMs == 0) return false;
  if (memory.compare(r.keyPtr, key.dataStart, <usize>key.length) != 0) return false;
  if (nowMs < r.atMs || nowMs - r.atMs > <u64>maxAgeMs) return false;
  return r.units - <i64>qty >= <i64>wideMargin;
}
