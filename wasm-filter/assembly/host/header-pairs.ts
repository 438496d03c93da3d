// Serialises header pairs in the proxy-wasm map format: u32 count, then
// (u32 key size, u32 value size) per pair, then each key and value followed
// by a NUL byte. Little-endian, as WebAssembly memory is. No host calls.

import { ByteWriter } from '../text/byte-writer';

/** `flat` is [name, value, name, value, ...]; a trailing odd name is ignored. */
export function serializeHeaderPairs(flat: string[]): ArrayBuffer {
  const pairs = flat.length >> 1;
  const keys: ArrayBuffer[] = [];
  const values: ArrayBuffer[] = [];
  let size = 4 + pairs * 8;
  for (let i = 0; i < pairs; i++) {
    const k = String.UTF8.encode(unchecked(flat[i * 2]));
    const v = String.UTF8.encode(unchecked(flat[i * 2 + 1]));
    keys.push(k);
    values.push(v);
    size += k.byteLength + 1 + v.byteLength + 1;
  }
  const out = new ArrayBuffer(size);
  const base = changetype<usize>(out);
  store<u32>(base, <u32>pairs);
  let sizeAt = base + 4;
  let dataAt = base + 4 + <usize>(pairs * 8);
  for (let i = 0; i < pairs; i++) {
    const k = unchecked(keys[i]);
    const v = unchecked(values[i]);
    store<u32>(sizeAt, <u32>k.byteLength);
    store<u32>(sizeAt + 4, <u32>v.byteLength);
    sizeAt += 8;
    memory.copy(dataAt, changetype<usize>(k), <usize>k.byteLength);
    dataAt += <usize>k.byteLength;
    store<u8>(dataAt, 0);
    dataAt += 1;
    memory.copy(dataAt, changetype<usize>(v), <usize>v.byteLength);
    dataAt += <usize>v.byteLength;
    store<u8>(dataAt, 0);
    dataAt += 1;
  }
  return out;
}

/** The same bytes as serializeHeaderPairs(flat), written into `w` (reused: no allocation per call). */
export function writeHeaderPairs(w: ByteWriter, flat: string[]): ByteWriter {
  const pairs = flat.length >> 1;
  w.u32(<u32>pairs);
  const table = w.length;
  w.zeros(pairs * 8);
  for (let i = 0; i < pairs; i++) {
    const keyAt = w.length;
    w.text(unchecked(flat[i * 2]));
    const keySize = w.length - keyAt;
    w.byte(0);
    const valueAt = w.length;
    w.text(unchecked(flat[i * 2 + 1]));
    const valueSize = w.length - valueAt;
    w.byte(0);
    w.patchU32(table + i * 8, <u32>keySize);
    w.patchU32(table + i * 8 + 4, <u32>valueSize);
  }
  return w;
}
