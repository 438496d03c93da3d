// Finds a few headers in a serialized header map (what one
// proxy_get_header_map_pairs call returns: u32 count, count x (u32 key size,
// u32 value size), then each key and value followed by a NUL byte) without
// decoding the others: one host call instead of one per header, and no
// allocation for the headers we skip. The map comes from the host, so every
// read is bounds-checked; a malformed map reads as "no headers". No host calls.

const U32_BYTES: u32 = 4;
/** A map claiming more pairs than this is not believed (Envoy's default limit is 100 headers). */
const MAX_PAIRS: u32 = 10000;

/** Header names to look for, UTF-8-encoded once (Envoy keys are lowercase). */
export class HeaderNames {
  bytes: ArrayBuffer[] = [];

  constructor(names: string[]) {
    for (let i = 0; i < names.length; i++) this.bytes.push(String.UTF8.encode(unchecked(names[i])));
  }

  get length(): i32 {
    return this.bytes.length;
  }
}

/**
 * The value of each name (by index, first occurrence wins as with
 * proxy_get_header_map_value), or null when absent; `decode` false for a name
 * only records presence (its slot reads "" when present).
 */
export function findHeaders(map: Uint8Array, names: HeaderNames, decode: bool[]): Array<string | null> {
  // Nullable elements start as null.
  const found = new Array<string | null>(names.length);
  const size = <u32>map.length;
  if (size < U32_BYTES) return found;
  const base = map.dataStart;
  const count = load<u32>(base);
  if (count > MAX_PAIRS || <u64>U32_BYTES + <u64>count * 8 > <u64>size) return found;
  let sizeAt = U32_BYTES;
  let dataAt = U32_BYTES + count * 8;
  for (let i: u32 = 0; i < count; i++) {
    const keySize = load<u32>(base + <usize>sizeAt);
    const valueSize = load<u32>(base + <usize>sizeAt + 4);
    sizeAt += 8;
    const valueAt = <u64>dataAt + <u64>keySize + 1;
    const end = valueAt + <u64>valueSize + 1;
    if (end > <u64>size) return found;
    const which = nameIndex(names, base + <usize>dataAt, keySize);
    if (which >= 0 && found[which] === null) {
      if (decode[which]) found[which] = String.UTF8.decodeUnsafe(base + <usize>valueAt, valueSize);
      else found[which] = '';
    }
    dataAt = <u32>end;
  }
  return found;
}

function nameIndex(names: HeaderNames, at: usize, size: u32): i32 {
  const bytes = names.bytes;
  for (let i = 0; i < bytes.length; i++) {
    const name = unchecked(bytes[i]);
    if (<u32>name.byteLength == size && memory.compare(changetype<usize>(name), at, <usize>size) == 0)
      return i;
  }
  return -1;
}
