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

import { CheckoutItem } from './checkout-request';
import { MAX_CACHE_KEY_CHARS, MAX_VERSION_CHARS } from './constants';
import { isIdentifier } from './identifiers';
import { fnv1a32 } from './rollout';
import { parseCount, splitFields } from './text-fields';

const RECORD_TAG = 'd1';
const RECORD_FIELDS: i32 = 8;
const ALLOW_TAG = 'a';
const DENY_TAG = 'd';

export class CachedDecision {
  allow: bool = false;
  decisionId: string = '';
  node: string = '';
  rulesVersion: string = '';
  modelVersion: string = '';
  storedAtMs: u64 = 0;
  key: string = '';
}

/**
 * The logical key of a basket: region|zone|sku*qty,sku*qty,...(sorted)|route.
 * Identifiers cannot contain '|', ',' or '*'; the route goes last because it
 * may. Empty when the key would be longer than MAX_CACHE_KEY_CHARS (such
 * baskets are not cached).
 */
export function decisionKey(region: string, zone: string, route: string, items: CheckoutItem[]): string {
  const parts: string[] = [];
  let length = region.length + zone.length + route.length + 3;
  for (let i = 0; i < items.length; i++) {
    const item = unchecked(items[i]);
    const part = item.sku + '*' + item.qty.toString();
    length += part.length + 1;
    if (length > MAX_CACHE_KEY_CHARS) return '';
    insertSorted(parts, part);
  }
  return region + '|' + zone + '|' + parts.join(',') + '|' + route;
}

/** The slot of a logical key among `slots`. */
export function slotOf(logicalKey: string, slots: u32): u32 {
  return fnv1a32(logicalKey) % slots;
}

/** True when versions from a sidecar answer can go into a record (identifiers, or empty when unknown). */
export function cacheableVersion(version: string): bool {
  return version.length == 0 || isIdentifier(version, MAX_VERSION_CHARS);
}

export function encodeCachedDecision(d: CachedDecision): string {
  let verdict = DENY_TAG;
  if (d.allow) verdict = ALLOW_TAG;
  return (
    RECORD_TAG +
    '|' +
    verdict +
    '|' +
    d.storedAtMs.toString() +
    '|' +
    d.decisionId +
    '|' +
    d.node +
    '|' +
    d.rulesVersion +
    '|' +
    d.modelVersion +
    '|' +
    d.key
  );
}

/** The record in `text`, or null when it is not one (another writer, an older format, garbage). */
export function decodeCachedDecision(text: string): CachedDecision | null {
  const f = splitFields(text, RECORD_FIELDS);
  if (f === null) return null;
  if (unchecked(f[0]) != RECORD_TAG) return null;
  const verdict = unchecked(f[1]);
  if (verdict != ALLOW_TAG && verdict != DENY_TAG) return null;
  const storedAt = parseCount(unchecked(f[2]));
  if (storedAt < 0) return null;
  const d = new CachedDecision();
  d.allow = verdict == ALLOW_TAG;
  d.storedAtMs = <u64>storedAt;
  d.decisionId = unchecked(f[3]);
  d.node = unchecked(f[4]);
  d.rulesVersion = unchecked(f[5]);
  d.modelVersion = unchecked(f[6]);
  d.key = unchecked(f[7]);
  return d;
}

/**
 * May this record answer for `key` now? It must be for the same key, at most
 * `maxAgeMs` old, and made under the current versions when they are known
 * (empty `rulesVersion` / `modelVersion`: no snapshot yet, age alone decides).
 */
export function isUsable(
  d: CachedDecision,
  key: string,
  nowMs: u64,
  maxAgeMs: u32,
  rulesVersion: string,
  modelVersion: string,
): bool {
  if (maxAgeMs == 0 || d.key != key) return false;
  if (nowMs < d.storedAtMs || nowMs - d.storedAtMs > <u64>maxAgeMs) return false;
  if (rulesVersion.length > 0 && d.rulesVersion != rulesVersion) return false;
  if (modelVersion.length > 0 && d.modelVersion != modelVersion) return false;
  return true;
}

function insertSorted(parts: string[], part: string): void {
  parts.push(part);
  let i = parts.length - 1;
  while (i > 0 && part < parts[i - 1]) {
    parts[i] = parts[i - 1];
    i--;
  }
  parts[i] = part;
}
