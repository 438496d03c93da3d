// The filter snapshot in shared data (<prefix>snapshot), so every worker VM
// sees what any worker fetched: value = "<fetchedAtMs>\n<snapshot JSON>".
// A worker publishes a snapshot only if it was fetched later than the one
// already there (compare-and-swap, retried), so two workers racing can never
// put an older snapshot back. Each worker keeps its own parsed copy and
// re-parses only when the shared value's cas changes.

import { MAX_CAS_ATTEMPTS } from '../constants';
import * as host from '../host/host';
import { parseCount } from '../text/text-fields';

const NEWLINE: u8 = 0x0a;
/** "<fetchedAtMs>\n" is at most this long (15 digits + newline). */
const MAX_HEADER_BYTES: i32 = 16;

export class SharedSnapshot {
  cas: u32 = 0;
  fetchedAtMs: u64 = 0;
  json: Uint8Array = new Uint8Array(0);
}

export class SnapshotExchange {
  private key: string;

  constructor(keyPrefix: string) {
    this.key = keyPrefix + 'snapshot';
  }

  /** The shared snapshot record, or null when there is none (or it is unreadable). */
  read(): SharedSnapshot | null {
    const value = host.getSharedData(this.key);
    if (value.result != host.RESULT_OK) return null;
    return decode(value.bytes, value.cas);
  }

  /**
   * Publishes a snapshot fetched at `fetchedAtMs` unless a later one is
   * already shared. Returns true when ours is now the shared one.
   */
  publish(json: Uint8Array, fetchedAtMs: u64): bool {
    const record = encode(json, fetchedAtMs);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = host.getSharedData(this.key);
      let cas: u32 = 0;
      if (current.result == host.RESULT_OK) {
        const shared = decode(current.bytes, current.cas);
        if (shared !== null && shared.fetchedAtMs >= fetchedAtMs) return false;
        cas = current.cas;
      }
      const result = host.setSharedData(this.key, record, cas);
      if (result == host.RESULT_OK) return true;
      if (result != host.RESULT_CAS_MISMATCH) return false;
    }
    return false;
  }
}

function encode(json: Uint8Array, fetchedAtMs: u64): ArrayBuffer {
  const header = String.UTF8.encode(fetchedAtMs.toString() + '\n');
  const out = new ArrayBuffer(header.byteLength + json.length);
  memory.copy(changetype<usize>(out), changetype<usize>(header), <usize>header.byteLength);
  memory.copy(changetype<usize>(out) + <usize>header.byteLength, json.dataStart, <usize>json.length);
  return out;
}

function decode(bytes: Uint8Array, cas: u32): SharedSnapshot | null {
  let newline = -1;
  const limit = bytes.length < MAX_HEADER_BYTES ? bytes.length : MAX_HEADER_BYTES;
  for (let i = 0; i < limit; i++) {
    if (unchecked(bytes[i]) == NEWLINE) {
      newline = i;
      break;
    }
  }
  if (newline <= 0) return null;
  const at = parseCount(String.UTF8.decodeUnsafe(bytes.dataStart, <usize>newline));
  if (at < 0) return null;
  const s = new SharedSnapshot();
  s.cas = cas;
  s.fetchedAtMs = <u64>at;
  s.json = bytes.subarray(newline + 1);
  return s;
}
