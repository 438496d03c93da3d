// Last-known margins in shared data (<prefix>m.<slot>), the host half of
// margin-book.ts. Recording follows every sidecar answer that carries
// x-atp-units-p10. During an outage a wide-margin allow CONSUMES the margin
// it relies on (units -= qty, compare-and-swap, retried), so a string of
// allows across all workers cannot spend more than the last-known stock
// above the wide margin.

import { MAX_CAS_ATTEMPTS } from './constants';
import * as host from './host';
import { decodeMargin, encodeMargin, MarginRecord, marginAllows } from './margin-book';
import { slotOf } from './decision-cache';

export class MarginStore {
  private prefix: string;
  private slots: u32;

  constructor(keyPrefix: string, slots: u32) {
    this.prefix = keyPrefix + 'm.';
    this.slots = slots;
  }

  /** Records what the sidecar said about a key (unconditional: the newest answer wins). */
  record(key: string, units: i64, nowMs: u64): void {
    host.setSharedData(this.slotKey(key), String.UTF8.encode(encodeMargin(units, nowMs, key)), 0);
  }

  /** True when every key has a fresh record vouching for its qty with `wideMargin` to spare. Reads only. */
  allowsAll(keys: string[], qtys: i32[], wideMargin: u32, nowMs: u64, maxAgeMs: u32): bool {
    for (let i = 0; i < keys.length; i++) {
      const r = this.read(unchecked(keys[i]));
      if (r === null || !marginAllows(r, unchecked(keys[i]), unchecked(qtys[i]), wideMargin, nowMs, maxAgeMs))
        return false;
    }
    return true;
  }

  /**
   * Takes `qty` off each key's last-known units, each with compare-and-swap
   * (another worker may be doing the same). Returns false as soon as one key
   * no longer allows it; units already taken for earlier keys stay taken —
   * the error is on the safe side (fewer outage allows, never more).
   */
  consumeAll(keys: string[], qtys: i32[], wideMargin: u32, nowMs: u64, maxAgeMs: u32): bool {
    for (let i = 0; i < keys.length; i++) {
      if (!this.consume(unchecked(keys[i]), unchecked(qtys[i]), wideMargin, nowMs, maxAgeMs)) return false;
    }
    return true;
  }

  private consume(key: string, qty: i32, wideMargin: u32, nowMs: u64, maxAgeMs: u32): bool {
    const slotKey = this.slotKey(key);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const value = host.getSharedData(slotKey);
      if (value.result != host.RESULT_OK) return false;
      const r = decodeMargin(String.UTF8.decode(value.bytes.buffer));
      if (r === null || !marginAllows(r, key, qty, wideMargin, nowMs, maxAgeMs)) return false;
      // The record keeps its original time: spending a margin does not make it fresher.
      const next = String.UTF8.encode(encodeMargin(r.units - <i64>qty, r.atMs, key));
      const result = host.setSharedData(slotKey, next, value.cas);
      if (result == host.RESULT_OK) return true;
      if (result != host.RESULT_CAS_MISMATCH) return false;
    }
    return false;
  }

  private read(key: string): MarginRecord | null {
    const value = host.getSharedData(this.slotKey(key));
    if (value.result != host.RESULT_OK) return null;
    return decodeMargin(String.UTF8.decode(value.bytes.buffer));
  }

  private slotKey(key: string): string {
    return this.prefix + slotOf(key, this.slots).toString();
  }
}
