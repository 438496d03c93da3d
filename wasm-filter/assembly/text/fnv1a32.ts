// FNV-1a 32 over a string's UTF-16 code units: the one hash of the filter
// (rollout buckets, shared-data slots). The sidecar hashes request ids the
// same way (rolloutBucket in sidecar/src/control/control-state.ts), so the
// units hashed must stay UTF-16, not UTF-8. For ASCII text (request ids,
// cache and margin keys: identifiers, printable route prefixes) the units are
// the bytes, so fnv1a32Bytes over the UTF-8 bytes gives the same hash without
// making a string. No host calls.

const FNV_OFFSET_BASIS: u32 = 0x811c9dc5;
const FNV_PRIME: u32 = 0x01000193;

export function fnv1a32(s: string): u32 {
  let h = FNV_OFFSET_BASIS;
  const units = changetype<usize>(s);
  const end = units + ((<usize>s.length) << 1);
  for (let p = units; p < end; p += 2) {
    h = (h ^ <u32>load<u16>(p)) * FNV_PRIME;
  }
  return h;
}

/** FNV-1a 32 over `length` bytes at `ptr` (equal to fnv1a32 of the same text when it is ASCII). */
export function fnv1a32Bytes(ptr: usize, length: i32): u32 {
  let h = FNV_OFFSET_BASIS;
  const end = ptr + <usize>length;
  for (let p = ptr; p < end; p++) {
    h = (h ^ <u32>load<u8>(p)) * FNV_PRIME;
  }
  return h;
}
