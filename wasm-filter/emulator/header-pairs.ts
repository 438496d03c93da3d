/**
 * The proxy-wasm header map wire format: u32 count, then (u32 key size, u32
 * value size) per pair, then each key and value followed by a NUL byte, all
 * little-endian. Header strings are byte strings: they are decoded as latin1
 * so every byte survives a round trip (Node's http module does the same).
 */

export type HeaderPairs = Array<[string, string]>;

const U32_BYTES = 4;

export function serializeHeaderPairs(pairs: HeaderPairs): Uint8Array {
  const encoded = pairs.map(([k, v]) => [Buffer.from(k, 'latin1'), Buffer.from(v, 'latin1')] as const);
  let size = U32_BYTES + pairs.length * 2 * U32_BYTES;
  for (const [k, v] of encoded) size += k.length + 1 + v.length + 1;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, pairs.length, true);
  let sizeAt = U32_BYTES;
  let dataAt = U32_BYTES + pairs.length * 2 * U32_BYTES;
  for (const [k, v] of encoded) {
    view.setUint32(sizeAt, k.length, true);
    view.setUint32(sizeAt + U32_BYTES, v.length, true);
    sizeAt += 2 * U32_BYTES;
    out.set(k, dataAt);
    dataAt += k.length + 1;
    out.set(v, dataAt);
    dataAt += v.length + 1;
  }
  return out;
}

/**
 * Parses the wire format. Like proxy-wasm-cpp-host's toPairs, a buffer too
 * short for its declared sizes yields no pairs at all; unlike it, the data
 * section is bounds-checked too (the host never reads past the guest's buffer).
 */
export function deserializeHeaderPairs(bytes: Uint8Array): HeaderPairs {
  if (bytes.length < U32_BYTES) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  if (U32_BYTES + count * 2 * U32_BYTES > bytes.length) return [];
  const sizes: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    const at = U32_BYTES + i * 2 * U32_BYTES;
    sizes.push([view.getUint32(at, true), view.getUint32(at + U32_BYTES, true)]);
  }
  const pairs: HeaderPairs = [];
  let dataAt = U32_BYTES + count * 2 * U32_BYTES;
  for (const [keySize, valueSize] of sizes) {
    if (dataAt + keySize + 1 + valueSize + 1 > bytes.length) return [];
    const key = Buffer.from(bytes.subarray(dataAt, dataAt + keySize)).toString('latin1');
    dataAt += keySize + 1;
    const value = Buffer.from(bytes.subarray(dataAt, dataAt + valueSize)).toString('latin1');
    dataAt += valueSize + 1;
    pairs.push([key, value]);
  }
  return pairs;
}
