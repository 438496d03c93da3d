/**
 * Replays recorded watch events the way a careful sidecar must: each full
 * snapshot and each delta's result verified (proto verifySnapshot) against
 * the trusted keys and the held snapshot before it is kept.
 */
import type { KeyObject } from 'node:crypto';
import type { WatchEventMsg } from '../../../control-plane/src/watch/watch-proto.js';
import type { ControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import { applySnapshotDelta } from '../../../proto/v1/snapshot-delta.js';
import { verifySnapshot } from '../../../proto/v1/snapshot-signature.js';
import { fullOf } from './watch-client.js';

/** The snapshot held after these events; throws on the first event that fails verification. */
export function applyAll(
  events: readonly WatchEventMsg[],
  keys: readonly KeyObject[],
): ControlSnapshot | null {
  let held: ControlSnapshot | null = null;
  for (const e of events) {
    let next: ControlSnapshot | null = null;
    if (e.event === 'snapshot') next = fullOf(e);
    else if (e.event === 'delta') {
      if (held === null) throw new Error('delta without a base');
      next = applySnapshotDelta(held, JSON.parse(Buffer.from(e.delta?.delta_json ?? '').toString('utf8')));
    }
    if (next === null) continue;
    verifySnapshot(next, keys, { held });
    held = next;
  }
  return held;
}
