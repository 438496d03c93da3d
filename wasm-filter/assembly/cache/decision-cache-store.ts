// The decision cache's host half: one shared-data key per slot
// (<prefix>d.<slot>), shared by every worker VM of the same vm_id. Writes use
// compare-and-swap: a writer that lost the race to another worker keeps the
// other worker's record (it is at least as fresh). Only allow/deny answers
// from the sidecar are stored, never failures. Pure half: decision-cache.ts.
// Slot keys and records are written into reused buffers and records are read
// in place from the host's bytes: a lookup or a store allocates nothing.

import { CachedRecord, isUsable, readRecord, slotOf, writeRecord } from './decision-cache';
import * as host from '../host/host';
import { ByteWriter } from '../text/byte-writer';

/** What a lookup found for a key. */
export enum Cached {
  /** No usable record (none, another key's, too old, other versions). */
  NONE = 0,
  ALLOW = 1,
  DENY = 2,
}

export class DecisionCacheStore {
  /** `<prefix>d.` as bytes. */
  private prefix: ArrayBuffer;
  private slots: u32;
  private slotKey: ByteWriter = new ByteWriter(96);
  private record: ByteWriter = new ByteWriter(512);
  private found: CachedRecord = new CachedRecord();
  /** The node of the last usable allow a lookup asked for (wantNode); '' otherwise. */
  lastNode: string = '';

  constructor(keyPrefix: string, slots: u32) {
    this.prefix = String.UTF8.encode(keyPrefix + 'd.');
    this.slots = slots;
  }

  /**
   * The usable record in the key's slot: for this key, at most `maxAgeMs`
   * old, made under these versions when they are known (see isUsable).
   */
  lookup(
    key: ArrayBuffer,
    nowMs: u64,
    maxAgeMs: u32,
    rulesVersion: string,
    modelVersion: string,
    wantNode: bool,
  ): Cached {
    this.lastNode = '';
    if (key.byteLength == 0) return Cached.NONE;
    const slotKey = this.writeSlotKey(key);
    if (host.borrowSharedData(slotKey.dataStart, slotKey.length) != host.RESULT_OK) return Cached.NONE;
    const r = this.found;
    let answer = Cached.NONE;
    if (
      readRecord(r, host.borrowedPtr(), host.borrowedLength()) &&
      isUsable(r, key, nowMs, maxAgeMs, rulesVersion, modelVersion)
    ) {
      answer = r.allow ? Cached.ALLOW : Cached.DENY;
      if (r.allow && wantNode) this.lastNode = r.node();
    }
    host.releaseBorrowed();
    return answer;
  }

  /** Stores a sidecar decision in its slot, replacing whatever was there unless another worker just wrote it. */
  store(
    key: ArrayBuffer,
    allow: bool,
    storedAtMs: u64,
    decisionId: string,
    node: string,
    rulesVersion: string,
    modelVersion: string,
  ): void {
    if (key.byteLength == 0) return;
    const slotKey = this.writeSlotKey(key);
    let cas: u32 = 0;
    if (host.borrowSharedData(slotKey.dataStart, slotKey.length) == host.RESULT_OK)
      cas = host.lastSharedCas();
    host.releaseBorrowed();
    const r = this.record;
    writeRecord(r, allow, storedAtMs, decisionId, node, rulesVersion, modelVersion, key);
    // A CAS mismatch means another worker wrote this slot since our read: its record stays.
    host.setSharedDataBytes(slotKey.dataStart, slotKey.length, r.dataStart, r.length, cas);
  }

  private writeSlotKey(key: ArrayBuffer): ByteWriter {
    const slot = slotOf(changetype<usize>(key), key.byteLength, this.slots);
    return this.slotKey
      .reset()
      .bytes(changetype<usize>(this.prefix), this.prefix.byteLength)
      .decimal(<u64>slot);
  }
}
