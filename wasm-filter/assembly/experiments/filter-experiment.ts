// Experiments in the filter: the running experiments of this region (from the
// filter snapshot), the bucket of a buyer key and the arm owning it. The
// bucket is FNV-1a 32 over the bytes of `<salt>:<buyer key>` modulo 10000,
// the arms owning consecutive bucket ranges in declared order
// (proto/v1/experiment.ts experimentBucket / armForBucket compute the same in
// the sidecar and the control plane). The key is read in place from the
// request headers and never copied, stored or sent: only the bucket and the
// arm leave the filter. No host calls.

import { hasPrefix } from '../text/identifiers';

/** The request header carrying the buyer key (set by the mesh from the session); wins over the session key. */
export const HEADER_BUYER_KEY = 'x-atp-buyer-key';
/** The session key, used when there is no buyer key (the closed-loop world sends it). */
export const HEADER_SESSION_KEY = 'x-atp-session';
export const BUCKETS: u32 = 10000;
const FNV_OFFSET_BASIS: u32 = 0x811c9dc5;
const FNV_PRIME: u32 = 0x01000193;
const COLON: u32 = 0x3a;

export class FilterExperiment {
  id: string = '';
  salt: string = '';
  routes: string[] = [];
  armNames: string[] = [];
  /** Basis points per arm, same order as armNames (they sum to BUCKETS). */
  armWeights: u32[] = [];
}

/** The first running experiment covering `path`, or null. */
export function experimentFor(experiments: FilterExperiment[], path: string): FilterExperiment | null {
  for (let i = 0; i < experiments.length; i++) {
    const e = unchecked(experiments[i]);
    const routes = e.routes;
    for (let j = 0; j < routes.length; j++) {
      if (hasPrefix(path, unchecked(routes[j]))) return e;
    }
  }
  return null;
}

/** Bucket 0..BUCKETS-1 of the `keySize` key bytes at `keyPtr` under the salt (ASCII: its units are its bytes). */
export function experimentBucket(salt: string, keyPtr: usize, keySize: i32): u32 {
  let h = FNV_OFFSET_BASIS;
  const units = changetype<usize>(salt);
  const end = units + ((<usize>salt.length) << 1);
  for (let p = units; p < end; p += 2) h = (h ^ <u32>load<u16>(p)) * FNV_PRIME;
  h = (h ^ COLON) * FNV_PRIME;
  const keyEnd = keyPtr + <usize>keySize;
  for (let p = keyPtr; p < keyEnd; p++) h = (h ^ <u32>load<u8>(p)) * FNV_PRIME;
  return h % BUCKETS;
}

/** Name of the arm owning `bucket`, or '' when the weights do not cover it. */
export function armForBucket(e: FilterExperiment, bucket: u32): string {
  let upper: u32 = 0;
  const weights = e.armWeights;
  for (let i = 0; i < weights.length; i++) {
    upper += unchecked(weights[i]);
    if (bucket < upper) return unchecked(e.armNames[i]);
  }
  return '';
}
