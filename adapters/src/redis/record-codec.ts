/** Packed records <-> Redis bytes (float64 little-endian, as Lua's struct '<d' reads them). */

import { endianness } from 'node:os';
import { NODE_RECORD_WIDTH, newRecord, RECORD_WIDTH } from '@mercato/features/record-layout';
import { type InventoryEvent, parseEvent, toWire } from '@mercato/proto/v1/inventory-event';

/** On a little-endian host a Float64Array's bytes are the stored format: one copy, no per-slot conversion. */
const HOST_IS_LE = endianness() === 'LE';

export function encodeRecord(rec: Float64Array, width = RECORD_WIDTH): Buffer {
  if (HOST_IS_LE) return Buffer.from(new Uint8Array(rec.buffer, rec.byteOffset, width * 8));
  const buf = Buffer.allocUnsafe(width * 8);
  for (let i = 0; i < width; i++) buf.writeDoubleLE(rec[i]!, i * 8);
  return buf;
}

/** Decodes into `out` at `off`; a missing or short value leaves a fresh record. */
export function decodeRecordInto(
  buf: Buffer | null | undefined,
  out: Float64Array,
  off: number,
  width: number,
): void {
  if (buf === null || buf === undefined || buf.length < width * 8) return;
  if (HOST_IS_LE) {
    // Byte copy: a reply buffer need not be 8-byte aligned, so no Float64Array view over it.
    new Uint8Array(out.buffer, out.byteOffset + off * 8, width * 8).set(buf.subarray(0, width * 8));
    return;
  }
  for (let i = 0; i < width; i++) out[off + i] = buf.readDoubleLE(i * 8);
}

export function decodeRecord(buf: Buffer | null | undefined): Float64Array {
  const rec = newRecord();
  decodeRecordInto(buf, rec, 0, RECORD_WIDTH);
  return rec;
}

export function decodeNodeRecord(buf: Buffer | null | undefined): Float64Array {
  const rec = new Float64Array(NODE_RECORD_WIDTH);
  decodeRecordInto(buf, rec, 0, NODE_RECORD_WIDTH);
  return rec;
}

export function encodePending(p: InventoryEvent[] | null): string {
  return p === null || p.length === 0 ? '' : JSON.stringify(p.map(toWire));
}

export function decodePending(buf: Buffer | string | null | undefined): InventoryEvent[] | null {
  if (buf === null || buf === undefined || buf.length === 0) return null;
  const arr = JSON.parse(buf.toString()) as unknown[];
  return arr.length === 0 ? null : arr.map(parseEvent);
}
