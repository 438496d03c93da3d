// Where the host writes the buffers it returns (headers, bodies, shared-data
// values). The proxy-wasm ABI has the host call the module's exported
// `malloc` and the module free the block once read. On the fast path that
// was an allocation and a free per host call, plus a copy into a managed
// buffer; here `malloc` lends one preallocated arena instead, when it is
// free and large enough, else allocates as the SDK's malloc does. The module
// reads the lent bytes in place and gives them back (host.ts) before it asks
// the host for more; a second request while the arena is lent gets a heap
// block, so lent bytes are never overwritten. No host calls.

import { free as heapFree, malloc as heapMalloc } from '@solo-io/proxy-runtime/malloc';

/** Covers header maps, shared-data records and the default max_body_bytes; larger buffers use the heap. */
export const ARENA_BYTES: i32 = 65536;

const arena = new ArrayBuffer(ARENA_BYTES);
let arenaLent = false;

/** The ABI's allocator export (proxy-wasm-cpp-host calls `malloc`). */
export function malloc(size: i32): usize {
  if (!arenaLent && size >= 0 && size <= ARENA_BYTES) {
    arenaLent = true;
    return changetype<usize>(arena);
  }
  return heapMalloc(size);
}

/** Gives back a block the host got from malloc. */
export function releaseHostBlock(ptr: usize): void {
  if (ptr == 0) return;
  if (ptr == changetype<usize>(arena)) {
    arenaLent = false;
    return;
  }
  heapFree(ptr);
}
