// A reusable, growable byte buffer for what the filter writes on the hot path
// (the sidecar request body, local reply bodies and headers, shared-data keys
// and records): written in place as UTF-8 and handed to the host as
// (pointer, length), so a request costs no intermediate strings. Each owner
// keeps its own writer and resets it before use; the bytes are valid until
// the next reset. No host calls.

const HEX_DIGITS = '0123456789abcdef';
const QUOTE: u8 = 0x22;
const BACKSLASH: u8 = 0x5c;
const FIRST_PRINTABLE: i32 = 0x20;
const FIRST_NON_ASCII: i32 = 0x80;
/** Digits of the largest u64. */
const MAX_U64_DIGITS: i32 = 20;

export class ByteWriter {
  private buffer: ArrayBuffer;
  /** Where `buffer` starts: kept as a plain address so writes touch no managed reference. */
  private data: usize;
  private capacity: i32;
  length: i32 = 0;

  constructor(initialCapacity: i32) {
    this.capacity = initialCapacity > 16 ? initialCapacity : 16;
    this.buffer = new ArrayBuffer(this.capacity);
    this.data = changetype<usize>(this.buffer);
  }

  reset(): ByteWriter {
    this.length = 0;
    return this;
  }

  /** Where the bytes start (valid until the next write that grows the buffer). */
  get dataStart(): usize {
    return this.data;
  }

  byte(b: u8): ByteWriter {
    if (this.length >= this.capacity) this.grow(1);
    store<u8>(this.data + <usize>this.length, b);
    this.length++;
    return this;
  }

  /** A little-endian u32 (WebAssembly's byte order, and the ABI's header-map format). */
  u32(v: u32): ByteWriter {
    if (this.length + 4 > this.capacity) this.grow(4);
    store<u32>(this.data + <usize>this.length, v);
    this.length += 4;
    return this;
  }

  /** Overwrites the u32 written at byte `at` (a size known only after what follows it). */
  patchU32(at: i32, v: u32): void {
    if (at < 0 || at + 4 > this.length) return;
    store<u32>(this.data + <usize>at, v);
  }

  /** `n` zero bytes. */
  zeros(n: i32): ByteWriter {
    if (n <= 0) return this;
    if (this.length + n > this.capacity) this.grow(n);
    memory.fill(this.data + <usize>this.length, 0, <usize>n);
    this.length += n;
    return this;
  }

  /** `len` bytes from `ptr`. */
  bytes(ptr: usize, len: i32): ByteWriter {
    if (len <= 0) return this;
    if (this.length + len > this.capacity) this.grow(len);
    memory.copy(this.data + <usize>this.length, ptr, <usize>len);
    this.length += len;
    return this;
  }

  /** Another writer's bytes. */
  append(other: ByteWriter): ByteWriter {
    return this.bytes(other.dataStart, other.length);
  }

  /** `s` as UTF-8 (what String.UTF8.encode would give). */
  text(s: string): ByteWriter {
    const n = s.length;
    if (this.length + n > this.capacity) this.grow(n);
    const out = this.data + <usize>this.length;
    const src = changetype<usize>(s);
    for (let i = 0; i < n; i++) {
      const c = <i32>load<u16>(src + ((<usize>i) << 1));
      if (c >= FIRST_NON_ASCII) {
        // Rare (every string the filter writes on the hot path is ASCII): let the runtime encode the rest.
        this.length += i;
        this.utf8Tail(s, i);
        return this;
      }
      store<u8>(out + <usize>i, <u8>c);
    }
    this.length += n;
    return this;
  }

  /** `s` as a JSON string literal, quotes included: `"` and `\` escaped, control characters as \u00XX. */
  jsonString(s: string): ByteWriter {
    // One pass for the usual case (printable ASCII, nothing to escape); anything else starts over slowly.
    const n = s.length;
    const start = this.length;
    if (this.length + n + 2 > this.capacity) this.grow(n + 2);
    const out = this.data + <usize>this.length;
    const src = changetype<usize>(s);
    store<u8>(out, QUOTE);
    for (let i = 0; i < n; i++) {
      const c = <i32>load<u16>(src + ((<usize>i) << 1));
      if (c < FIRST_PRINTABLE || c >= FIRST_NON_ASCII || c == QUOTE || c == BACKSLASH) {
        this.length = start;
        return this.jsonStringEscaped(s);
      }
      store<u8>(out + 1 + <usize>i, <u8>c);
    }
    store<u8>(out + 1 + <usize>n, QUOTE);
    this.length += n + 2;
    return this;
  }

  /** A non-negative integer in decimal (as u64.toString()). */
  decimal(v: u64): ByteWriter {
    if (this.length + MAX_U64_DIGITS > this.capacity) this.grow(MAX_U64_DIGITS);
    let digits: i32 = 1;
    let rest = v / 10;
    while (rest > 0) {
      digits++;
      rest /= 10;
    }
    const out = this.data + <usize>this.length;
    let x = v;
    for (let i = digits - 1; i >= 0; i--) {
      store<u8>(out + <usize>i, <u8>(0x30 + <i32>(x % 10)));
      x /= 10;
    }
    this.length += digits;
    return this;
  }

  /** The bytes as a string (one allocation). */
  toString(): string {
    return String.UTF8.decodeUnsafe(this.data, <usize>this.length);
  }

  private jsonStringEscaped(s: string): ByteWriter {
    this.byte(QUOTE);
    const n = s.length;
    let runStart = 0;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c != QUOTE && c != BACKSLASH && c >= FIRST_PRINTABLE) continue;
      if (i > runStart) this.text(s.substring(runStart, i));
      runStart = i + 1;
      this.byte(BACKSLASH);
      if (c == QUOTE) this.byte(QUOTE);
      else if (c == BACKSLASH) this.byte(BACKSLASH);
      else {
        this.byte(0x75); // u
        this.byte(0x30).byte(0x30);
        this.byte(<u8>HEX_DIGITS.charCodeAt((c >> 4) & 0xf));
        this.byte(<u8>HEX_DIGITS.charCodeAt(c & 0xf));
      }
    }
    if (runStart == 0) return this.text(s).byte(QUOTE);
    if (n > runStart) this.text(s.substring(runStart, n));
    return this.byte(QUOTE);
  }

  private utf8Tail(s: string, from: i32): void {
    const rest = s.length - from;
    const size = String.UTF8.byteLength(s.substring(from));
    if (this.length + size > this.capacity) this.grow(size);
    String.UTF8.encodeUnsafe(
      changetype<usize>(s) + ((<usize>from) << 1),
      rest,
      this.data + <usize>this.length,
    );
    this.length += size;
  }

  /** Makes room for `extra` more bytes (doubling). */
  private grow(extra: i32): void {
    const needed = this.length + extra;
    if (needed <= this.capacity) return;
    let capacity = this.capacity << 1;
    if (capacity < needed) capacity = needed;
    const grown = new ArrayBuffer(capacity);
    memory.copy(changetype<usize>(grown), this.data, <usize>this.length);
    this.buffer = grown;
    this.data = changetype<usize>(grown);
    this.capacity = capacity;
  }
}

/** True when the `len` bytes at `ptr`, read as UTF-8, are `s` (without decoding them when `s` is ASCII). */
export function bytesEqual(ptr: usize, len: i32, s: string): bool {
  const n = s.length;
  const src = changetype<usize>(s);
  for (let i = 0; i < n; i++) {
    // A non-ASCII `s` (never on the hot path) is compared the slow way.
    if (<i32>load<u16>(src + ((<usize>i) << 1)) >= FIRST_NON_ASCII)
      return String.UTF8.decodeUnsafe(ptr, <usize>len) == s;
  }
  if (len != n) return false;
  for (let i = 0; i < n; i++) {
    if (<i32>load<u16>(src + ((<usize>i) << 1)) != <i32>load<u8>(ptr + <usize>i)) return false;
  }
  return true;
}
