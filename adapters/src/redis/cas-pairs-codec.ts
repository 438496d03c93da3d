/**
 * Packs the compare-and-set of one SKU's pairs into the single binary
 * argument the CAS script reads (lua-scripts.ts `casPairsLua`). One argument
 * per SKU instead of six per pair is what makes a batch cheap to send: the
 * client encodes, and Redis parses, a handful of arguments per SKU.
 *
 * Layout per pair, little-endian: u16 field length, field (UTF-8); u16 old
 * record length, old record; u16 new record length, new record; u32 old held
 * events length, old held events; u32 new held events length, new held
 * events. Lengths of 0 mean "absent".
 */

/** One pair's compare-and-set: write `newRec`/`newPend` only if Redis still holds `oldRec`/`oldPend`. */
export interface CasPair {
  field: string;
  oldRec: Buffer | null;
  newRec: Buffer;
  oldPend: Buffer | string | null;
  newPend: string;
}

/** u16 field, u16 old record, u16 new record, u32 old held, u32 new held. */
const HEADER_BYTES = 2 + 2 + 2 + 4 + 4;
const U16_MAX = 0xffff;

function lengthOf(v: Buffer | string | null): number {
  if (v === null) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

function put(out: Buffer, at: number, v: Buffer | string | null): number {
  if (v === null) return at;
  return at + (typeof v === 'string' ? out.write(v, at) : v.copy(out, at));
}

function putShort(out: Buffer, at: number, v: Buffer | string | null): number {
  const n = lengthOf(v);
  if (n > U16_MAX) throw new RangeError(`a packed CAS field of ${n} bytes exceeds ${U16_MAX}`);
  return put(out, out.writeUInt16LE(n, at), v);
}

function putLong(out: Buffer, at: number, v: Buffer | string | null): number {
  return put(out, out.writeUInt32LE(lengthOf(v), at), v);
}

/** The packed argument for `pairs` (one SKU). Plain functions, no closures: it runs once per SKU per batch. */
export function packCasPairs(pairs: readonly CasPair[]): Buffer {
  let size = 0;
  for (const p of pairs) {
    size +=
      HEADER_BYTES +
      Buffer.byteLength(p.field) +
      lengthOf(p.oldRec) +
      p.newRec.length +
      lengthOf(p.oldPend) +
      lengthOf(p.newPend);
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of pairs) {
    at = putShort(out, at, p.field);
    at = putShort(out, at, p.oldRec);
    at = putShort(out, at, p.newRec);
    at = putLong(out, at, p.oldPend);
    at = putLong(out, at, p.newPend);
  }
  return out;
}
