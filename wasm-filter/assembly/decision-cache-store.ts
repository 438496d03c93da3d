// The decision cache's host half: one shared-data key per slot
// (<prefix>d.<slot>), shared by every worker VM of the same vm_id. Writes use
// compare-and-swap: a writer that lost the race to another worker keeps the
// other worker's record (it is at least as fresh). Only allow/deny answers
// from the sidecar are stored, never failures. Pure half: decision-cache.ts.

import { CachedDecision, decodeCachedDecision, encodeCachedDecision, slotOf } from './decision-cache';
import * as host from './host';

export class DecisionCacheStore {
  private prefix: string;
  private slots: u32;

  constructor(keyPrefix: string, slots: u32) {
    this.prefix = keyPrefix + 'd.';
    this.slots = slots;
  }

  /** The record in the key's slot if it is for this key, else null (the caller checks age and versions). */
  lookup(key: string): CachedDecision | null {
    if (key.length == 0) return null;
    const value = host.getSharedData(this.slotKey(key));
    if (value.result != host.RESULT_OK) return null;
    const record = decodeCachedDecision(String.UTF8.decode(value.bytes.buffer));
    if (record === null || record.key != key) return null;
    return record;
  }

  /** Stores a sidecar decision in its slot, replacing whatever was there unless another worker just wrote it. */
  store(d: CachedDecision): void {
    if (d.key.length == 0) return;
    const slotKey = this.slotKey(d.key);
    const current = host.getSharedData(slotKey);
    let cas: u32 = 0;
    if (current.result == host.RESULT_OK) cas = current.cas;
    // A CAS mismatch means another worker wrote this slot since our read: its record stays.
    host.setSharedData(slotKey, String.UTF8.encode(encodeCachedDecision(d)), cas);
  }

  private slotKey(key: string): string {
    return this.prefix + slotOf(key, this.slots).toString();
  }
}
