/**
 * Reads and writes guest memory for host calls, with bounds checks (an
 * out-of-range pointer is InvalidMemoryAccess, never a host crash). Views are
 * re-created on every access because the guest's memory may grow — and with
 * it be replaced — during any call into the guest, malloc included.
 */

const U32_BYTES = 4;
const U64_BYTES = 8;

export type GuestAllocator = (size: number) => number;

export class WasmMemory {
  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly allocate: GuestAllocator,
  ) {}

  /** Current size of guest memory in bytes (it only grows). */
  get size(): number {
    return this.memory.buffer.byteLength;
  }

  private inBounds(ptr: number, size: number): boolean {
    return ptr >= 0 && size >= 0 && ptr + size <= this.memory.buffer.byteLength;
  }

  /** A copy of [ptr, ptr + size), or undefined when out of bounds. */
  read(ptr: number, size: number): Uint8Array | undefined {
    const p = ptr >>> 0;
    const n = size >>> 0;
    if (n === 0) return new Uint8Array(0);
    if (!this.inBounds(p, n)) return undefined;
    return new Uint8Array(this.memory.buffer, p, n).slice();
  }

  readUtf8(ptr: number, size: number): string | undefined {
    const bytes = this.read(ptr, size);
    return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
  }

  readLatin1(ptr: number, size: number): string | undefined {
    const bytes = this.read(ptr, size);
    return bytes === undefined ? undefined : Buffer.from(bytes).toString('latin1');
  }

  writeU32(ptr: number, value: number): boolean {
    const p = ptr >>> 0;
    if (!this.inBounds(p, U32_BYTES)) return false;
    new DataView(this.memory.buffer).setUint32(p, value >>> 0, true);
    return true;
  }

  writeU64(ptr: number, value: bigint): boolean {
    const p = ptr >>> 0;
    if (!this.inBounds(p, U64_BYTES)) return false;
    new DataView(this.memory.buffer).setBigUint64(p, BigInt.asUintN(64, value), true);
    return true;
  }

  writeBytes(ptr: number, data: Uint8Array): boolean {
    const p = ptr >>> 0;
    if (!this.inBounds(p, data.length)) return false;
    new Uint8Array(this.memory.buffer).set(data, p);
    return true;
  }

  /**
   * Copies `data` into a guest buffer allocated through the guest's malloc
   * and writes its address and size — proxy-wasm-cpp-host's copyToPointerSize:
   * empty data writes address 0 and size 0 without allocating.
   */
  copyToPointerSize(data: Uint8Array, ptrPtr: number, sizePtr: number): boolean {
    let address = 0;
    if (data.length > 0) {
      address = this.allocate(data.length) >>> 0;
      if (address === 0 || !this.writeBytes(address, data)) return false;
    }
    return this.writeU32(ptrPtr, address) && this.writeU32(sizePtr, data.length);
  }
}
