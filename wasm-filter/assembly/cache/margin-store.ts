// Last-known margins in shared data (<prefix>m.<slot>), the host half of
// margin-book.ts. Recording follows every sidecar answer that carries
// x-atp-units-p10. During an outage a wide-margin allow CONSUMES the margin
// it relies on (units -= qty, compare-and-swap, retried), so a string of
// allows across all workers cannot spend more than the last-known stock
// above the wide margin. Keys and records go through reused buffers.

import { MAX_CAS_ATTEMPTS } from '../constants';
import * as host from '../host/host';
import { CheckoutItem } from '../request/checkout-request';
import { ByteWriter } from '../text/byte-writer';
import { MarginRecord, marginAllows, readMargin, writeMarginKey, writeMarginRecord } from './margin-book';
import { slotOf } from './decision-cache';

export class MarginStore {
  /** `<prefix>m.` as bytes. */
  private prefix: ArrayBuffer;
  private slots: u32;
  private key: ByteWriter = new ByteWriter(256);
  private slotKey: ByteWriter = new ByteWriter(96);
  private recordBytes: ByteWriter = new ByteWriter(320);
  private found: MarginRecord = new MarginRecord();

  constructor(keyPrefix: string, slots: u32) {
    this.prefix = String.UTF8.encode(keyPrefix + 'm.');
    this.slots = slots;
  }

  /** Records what the sidecar said about (region, zone, sku) (unconditional: the newest answer wins). */
  record(region: string, zone: string, sku: string, units: i64, nowMs: u64): void {
    const key = writeMarginKey(this.key, region, zone, sku);
    const slotKey = this.writeSlotKey(key);
    const r = writeMarginRecord(this.recordBytes, units, nowMs, key);
    host.setSharedDataBytes(slotKey.dataStart, slotKey.length, r.dataStart, r.length, 0);
  }

  /** True when every item has a fresh record vouching for its qty with `wideMargin` to spare. Reads only. */
  allowsAll(
    region: string,
    zone: string,
    items: CheckoutItem[],
    wideMargin: u32,
    nowMs: u64,
    maxAgeMs: u32,
  ): bool {
    for (let i = 0; i < items.length; i++) {
      const item = unchecked(items[i]);
      const key = writeMarginKey(this.key, region, zone, item.sku);
      const slotKey = this.writeSlotKey(key);
      let allows = false;
      if (host.borrowSharedData(slotKey.dataStart, slotKey.length) == host.RESULT_OK) {
        const r = this.found;
        allows =
          readMargin(r, host.borrowedPtr(), host.borrowedLength()) &&
          marginAllows(r, key, item.qty, wideMargin, nowMs, maxAgeMs);
      }
      host.releaseBorrowed();
      if (!allows) return false;
    }
    return true;
  }

  /**
   * Takes each item's qty off its last-known units, each with compare-and-swap
   * (another worker may be doing the same). Returns false as soon as one item
   * no longer allows it; units already taken for earlier items stay taken —
   * the error is on the safe side (fewer outage allows, never more).
   */
  consumeAll(
    region: string,
    zone: string,
    items: CheckoutItem[],
    wideMargin: u32,
    nowMs: u64,
    maxAgeMs: u32,
  ): bool {
    for (let i = 0; i < items.length; i++) {
      const item = unchecked(items[i]);
      if (!this.consume(region, zone, item.sku, item.qty, wideMargin, nowMs, maxAgeMs)) return false;
    }
    return true;
  }

  private consume(
    region: string,
    zone: string,
    sku: string,
    qty: i32,
    wideMargin: u32,
    nowMs: u64,
    maxAgeMs: u32,
  ): bool {
    const key = writeMarginKey(this.key, region, zone, sku);
    const slotKey = this.writeSlotKey(key);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      if (host.borrowSharedData(slotKey.dataStart, slotKey.length) != host.RESULT_OK) {
        host.releaseBorrowed();
        return false;
      }
      const cas = host.lastSharedCas();
      const r = this.found;
      const allows =
        readMargin(r, host.borrowedPtr(), host.borrowedLength()) &&
        marginAllows(r, key, qty, wideMargin, nowMs, maxAgeMs);
      const units = r.units;
      const atMs = r.atMs;
      host.releaseBorrowed();
      if (!allows) return false;
      // The record keeps its original time: spending a margin does not make it fresher.
      const next = writeMarginRecord(this.recordBytes, units - <i64>qty, atMs, key);
      const result = host.setSharedDataBytes(
        slotKey.dataStart,
        slotKey.length,
        next.dataStart,
        next.length,
        cas,
      );
      if (result == host.RESULT_OK) return true;
      if (result != host.RESULT_CAS_MISMATCH) return false;
    }
    return false;
  }

  private writeSlotKey(key: ByteWriter): ByteWriter {
    const slot = slotOf(key.dataStart, key.length, this.slots);
    return this.slotKey
      .reset()
      .bytes(changetype<usize>(this.prefix), this.prefix.byteLength)
      .decimal(<u64>slot);
  }
}
