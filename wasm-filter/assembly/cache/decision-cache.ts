// The decision cache's pure half: cache keys, slot choice and the record
// format. The host half (reads and CAS writes in shared data) is
// decision-cache-store.ts. No host calls.
//
// Envoy shared data has no TTL, no delete and no eviction, so the cache is a
// direct-mapped table: a logical key (region, buyer zone, route, sorted
// basket) hashes to one of `cache_max_entries` slots, and the slot's record
// carries the full logical key, so a collision is a miss, never a wrong
// answer. The number of keys is bounded by construction and a newer decision
// simply replaces an older one in its slot. Records carry the rules and model
// versions they were made under: a record whose versions differ from the
// current snapshot's is a miss (invalidation without touching shared data).
//
// Keys and records are ASCII (identifiers, printable route prefixes, digits)
// and are written and read as bytes in place: a lookup makes no string.

import { CheckoutItem } from '../request/checkout-request';
import { MAX_CACHE_KEY_CHARS } from '../constants';
import { ByteWriter, bytesEqual } from '../text/byte-writer';
import { nextSeparator, parseCountBytes } from '../text/text-fields';
import { fnv1a32Bytes } from '../text/fnv1a32';

const RECORD_TAG = 'd1';
const ALLOW_TAG: u8 = 0x61; // 'a'
const DENY_TAG: u8 = 0x64; // 'd'
const SEPARATOR: u8 = 0x7c; // '|'
const ITEM_SEPARATOR: u8 = 0x2c; // ','
const QTY_SEPARATOR: u8 = 0x2a; // '*'

// The basket's parts (sku*qty) before sorting: written once, then ordered by index.
const parts = new ByteWriter(256);
const partStart = new Int32Array(64);
const partEnd = new Int32Array(64);
const order = new Int32Array(64);

/**
 * Writes the logical key of a basket into `w`:
 * region|zone|sku*qty,sku*qty,...(sorted)|route. Identifiers cannot contain
 * '|', ',' or '*'; the route goes last because it may. Returns false when the
 * key would be longer than MAX_CACHE_KEY_CHARS (such baskets are not cached).
 */
export function writeDecisionKey(
  w: ByteWriter,
  region: string,
  zone: string,
  route: string,
  items: CheckoutItem[],
): bool {
  const n = items.length;
  if (n > order.length) return false;
  parts.reset();
  let length = region.length + zone.length + route.length + 3;
  for (let i = 0; i < n; i++) {
    const item = unchecked(items[i]);
    const start = parts.length;
    parts
      .text(item.sku)
      .byte(QTY_SEPARATOR)
      .decimal(<u64>item.qty);
    put(partStart, i, start);
    put(partEnd, i, parts.length);
    length += parts.length - start + 1;
    if (length > MAX_CACHE_KEY_CHARS) return false;
    insertSorted(i);
  }
  w.reset().text(region).byte(SEPARATOR).text(zone).byte(SEPARATOR);
  for (let i = 0; i < n; i++) {
    if (i > 0) w.byte(ITEM_SEPARATOR);
    const p = unchecked(order[i]);
    w.bytes(
      parts.dataStart + <usize>unchecked(partStart[p]),
      unchecked(partEnd[p]) - unchecked(partStart[p]),
    );
  }
  w.byte(SEPARATOR).text(route);
  return true;
}

/** The slot of a logical key (`length` bytes at `ptr`) among `slots`. */
export function slotOf(ptr: usize, length: i32, slots: u32): u32 {
  return fnv1a32Bytes(ptr, length) % slots;
}

/**
 * Writes a record: d1|a or d|storedAtMs|decisionId|node|rulesVersion|modelVersion|key.
 */
export function writeRecord(
  w: ByteWriter,
  allow: bool,
  storedAtMs: u64,
  decisionId: string,
  node: string,
  rulesVersion: string,
  modelVersion: string,
  key: ArrayBuffer,
): void {
  w.reset().text(RECORD_TAG).byte(SEPARATOR);
  w.byte(allow ? ALLOW_TAG : DENY_TAG).byte(SEPARATOR);
  w.decimal(storedAtMs).byte(SEPARATOR);
  w.text(decisionId).byte(SEPARATOR).text(node).byte(SEPARATOR);
  w.text(rulesVersion).byte(SEPARATOR).text(modelVersion).byte(SEPARATOR);
  w.bytes(changetype<usize>(key), key.byteLength);
}

/** A record read in place from shared-data bytes (valid while those bytes are). */
export class CachedRecord {
  allow: bool = false;
  storedAtMs: u64 = 0;
  base: usize = 0;
  // Field positions (start, end) relative to base.
  nodeStart: i32 = 0;
  nodeEnd: i32 = 0;
  rulesStart: i32 = 0;
  rulesEnd: i32 = 0;
  modelStart: i32 = 0;
  modelEnd: i32 = 0;
  keyStart: i32 = 0;
  keyEnd: i32 = 0;

  /** The node of the decision, decoded. */
  node(): string {
    return String.UTF8.decodeUnsafe(
      this.base + <usize>this.nodeStart,
      <usize>(this.nodeEnd - this.nodeStart),
    );
  }
}

/**
 * Reads a record from the `length` bytes at `base` into `r`; false when they
 * are not one (another writer, an older format, garbage). The first seven
 * fields end at the next '|'; the key takes the rest.
 */
export function readRecord(r: CachedRecord, base: usize, length: i32): bool {
  r.base = base;
  let at = 0;
  // d1
  let end = nextSeparator(base, at, length, SEPARATOR);
  if (end < 0 || !bytesEqual(base, end, RECORD_TAG)) return false;
  // a | d
  at = end + 1;
  end = nextSeparator(base, at, length, SEPARATOR);
  if (end != at + 1) return false;
  const verdict = load<u8>(base + <usize>at);
  if (verdict != ALLOW_TAG && verdict != DENY_TAG) return false;
  r.allow = verdict == ALLOW_TAG;
  // storedAtMs
  at = end + 1;
  end = nextSeparator(base, at, length, SEPARATOR);
  if (end < 0) return false;
  const storedAt = parseCountBytes(base + <usize>at, end - at);
  if (storedAt < 0) return false;
  r.storedAtMs = <u64>storedAt;
  // decisionId (not needed to answer: skipped)
  at = end + 1;
  end = nextSeparator(base, at, length, SEPARATOR);
  if (end < 0) return false;
  // node
  at = end + 1;
  end = nextSeparator(base, at, length, SEPARATOR);
  if (end < 0) return false;
  r.nodeStart = at;
  r.nodeEnd = end;
  // rulesVersion
  at = end + 1;
  end = nextSeparator(base, at, length, SEPARATOR);
  if (end < 0) return false;
  r.rulesStart = at;
  r.rulesEnd = end;
  // modelVersion
  at = end + 1;
  end = nextSeparator(base, at, length, SEPARATOR);
  if (end < 0) return false;
  r.modelStart = at;
  r.modelEnd = end;
  // key: the rest
  r.keyStart = end + 1;
  r.keyEnd = length;
  return true;
}

/**
 * May this record answer for `key` now? It must be for the same key, at most
 * `maxAgeMs` old, and made under the current versions when they are known
 * (empty `rulesVersion` / `modelVersion`: no snapshot yet, age alone decides).
 */
export function isUsable(
  r: CachedRecord,
  key: ArrayBuffer,
  nowMs: u64,
  maxAgeMs: u32,
  rulesVersion: string,
  modelVersion: string,
): bool {
  if (maxAgeMs == 0) return false;
  const keyLength = r.keyEnd - r.keyStart;
  if (keyLength != key.byteLength) return false;
  if (memory.compare(r.base + <usize>r.keyStart, changetype<usize>(key), <usize>keyLength) != 0) return false;
  if (nowMs < r.storedAtMs || nowMs - r.storedAtMs > <u64>maxAgeMs) return false;
  if (
    rulesVersion.length > 0 &&
    !bytesEqual(r.base + <usize>r.rulesStart, r.rulesEnd - r.rulesStart, rulesVersion)
  )
    return false;
  if (
    modelVersion.length > 0 &&
    !bytesEqual(r.base + <usize>r.modelStart, r.modelEnd - r.modelStart, modelVersion)
  )
    return false;
  return true;
}

/** Inserts part `i` into order[0..i) (insertion sort; an equal part stays after). */
function insertSorted(i: i32): void {
  let j = i;
  while (j > 0 && partLess(i, unchecked(order[j - 1]))) {
    put(order, j, unchecked(order[j - 1]));
    j--;
  }
  put(order, j, i);
}

/** String order of two parts (as `a < b` on the strings: code units, then length). */
function partLess(a: i32, b: i32): bool {
  const aStart = unchecked(partStart[a]);
  const bStart = unchecked(partStart[b]);
  const aLength = unchecked(partEnd[a]) - aStart;
  const bLength = unchecked(partEnd[b]) - bStart;
  const shared = min<i32>(aLength, bLength);
  const c = memory.compare(parts.dataStart + <usize>aStart, parts.dataStart + <usize>bStart, <usize>shared);
  if (c != 0) return c < 0;
  return aLength < bLength;
}

/** a[i] = v for an index the caller keeps in range (no bounds check, nothing to trap on). */
function put(a: Int32Array, i: i32, v: i32): void {
  store<i32>(a.dataStart + ((<usize>i) << 2), v);
}
