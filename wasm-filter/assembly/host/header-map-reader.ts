// Finds a few headers in a serialized header map (what one
// proxy_get_header_map_pairs call returns: u32 count, count x (u32 key size,
// u32 value size), then each key and value followed by a NUL byte) without
// decoding any of them: it records where each wanted value is, and callers
// decode, compare or parse only what they use. One host call instead of one
// per header, and no allocation per request (the slots are reused). The map
// comes from the host, so every read is bounds-checked; a malformed map
// reads as "no headers" (or the headers before the damage). No host calls.

import { bytesEqual } from '../text/byte-writer';

const U32_BYTES: u32 = 4;
/** A map claiming more pairs than this is not believed (Envoy's default limit is 100 headers). */
const MAX_PAIRS: u32 = 10000;
const ABSENT: i32 = -1;

/**
 * Header names to look for, UTF-8-encoded once into one buffer (Envoy keys
 * are lowercase), with each name's offset, length and first four bytes, so
 * matching a header costs a length and a word compare for most names and
 * touches no managed references.
 */
export class HeaderNames {
  private packed: ArrayBuffer;
  private table: Int32Array;
  readonly length: i32;

  constructor(names: string[]) {
    const n = names.length;
    this.length = n;
    let size = 0;
    for (let i = 0; i < n; i++) size += String.UTF8.byteLength(unchecked(names[i]));
    this.packed = new ArrayBuffer(size);
    // Per name: offset, length, first four bytes (zero-padded).
    this.table = new Int32Array(n * 3);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const bytes = String.UTF8.encode(unchecked(names[i]));
      const length = bytes.byteLength;
      memory.copy(changetype<usize>(this.packed) + <usize>at, changetype<usize>(bytes), <usize>length);
      let head: u32 = 0;
      for (let b = 0; b < length && b < 4; b++)
        head |= (<u32>load<u8>(changetype<usize>(bytes) + <usize>b)) << (<u32>b * 8);
      this.table[i * 3] = at;
      this.table[i * 3 + 1] = length;
      this.table[i * 3 + 2] = <i32>head;
      at += length;
    }
  }

  /** Index of the name equal to the `size` bytes at `at`, or -1. */
  indexOf(at: usize, size: u32): i32 {
    const table = this.table.dataStart;
    const packed = changetype<usize>(this.packed);
    let head: u32 = 0;
    if (size >= 4) head = load<u32>(at);
    else for (let b: u32 = 0; b < size; b++) head |= (<u32>load<u8>(at + <usize>b)) << (b * 8);
    const n = this.length;
    for (let i = 0; i < n; i++) {
      const entry = table + ((<usize>(i * 3)) << 2);
      if (<u32>load<i32>(entry, 4) != size || <u32>load<i32>(entry, 8) != head) continue;
      if (size <= 4 || memory.compare(packed + <usize>load<i32>(entry), at, <usize>size) == 0) return i;
    }
    return -1;
  }
}

/**
 * Where each name's value is in the last map scanned (by name index; first
 * occurrence wins, as with proxy_get_header_map_value). The positions point
 * into the scanned bytes: read them before those bytes are released.
 */
export class HeaderSlots {
  private names: HeaderNames;
  private at: Int32Array;
  private size: Int32Array;
  private base: usize = 0;

  constructor(names: HeaderNames) {
    this.names = names;
    this.at = new Int32Array(names.length);
    this.size = new Int32Array(names.length);
    this.at.fill(ABSENT);
  }

  /** Scans the `length` bytes of a serialized map at `base`. */
  scan(base: usize, length: i32): void {
    const at = this.at.dataStart;
    const sizes = this.size.dataStart;
    const names = this.names;
    this.at.fill(ABSENT);
    this.base = base;
    if (length < <i32>U32_BYTES) return;
    const size = <u32>length;
    const count = load<u32>(base);
    if (count > MAX_PAIRS || <u64>U32_BYTES + <u64>count * 8 > <u64>size) return;
    let sizeAt = U32_BYTES;
    let dataAt = U32_BYTES + count * 8;
    for (let i: u32 = 0; i < count; i++) {
      const keySize = load<u32>(base + <usize>sizeAt);
      const valueSize = load<u32>(base + <usize>sizeAt + 4);
      sizeAt += 8;
      const valueAt = <u64>dataAt + <u64>keySize + 1;
      const end = valueAt + <u64>valueSize + 1;
      if (end > <u64>size) return;
      const which = names.indexOf(base + <usize>dataAt, keySize);
      if (which >= 0) {
        const slot = at + ((<usize>which) << 2);
        if (load<i32>(slot) == ABSENT) {
          store<i32>(slot, <i32>valueAt);
          store<i32>(sizes + ((<usize>which) << 2), <i32>valueSize);
        }
      }
      dataAt = <u32>end;
    }
  }
  has(i: i32): bool {
    return unchecked(this.at[i]) != ABSENT;
  }

  /** The value, decoded; null when absent. */
  value(i: i32): string | null {
    if (!this.has(i)) return null;
    return String.UTF8.decodeUnsafe(this.valuePtr(i), <usize>unchecked(this.size[i]));
  }

  /** The value decoded, or '' when absent. */
  valueOrEmpty(i: i32): string {
    if (!this.has(i)) return '';
    return String.UTF8.decodeUnsafe(this.valuePtr(i), <usize>unchecked(this.size[i]));
  }

  /** True when present and equal to `s` (compared in place). */
  equals(i: i32, s: string): bool {
    if (!this.has(i)) return false;
    return bytesEqual(this.valuePtr(i), unchecked(this.size[i]), s);
  }

  /** Where the value starts (where the map starts when absent: valueSize is 0 then). */
  valuePtr(i: i32): usize {
    if (!this.has(i)) return this.base;
    return this.base + <usize>unchecked(this.at[i]);
  }

  /** Value length in bytes (0 when absent). */
  valueSize(i: i32): i32 {
    if (!this.has(i)) return 0;
    return unchecked(this.size[i]);
  }
}
