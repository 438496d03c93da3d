// What the root context and the ABI dispatch know about a stream.
//
// Declared apart from AtpHttpContext so that no field type of a stream points
// back at AtpRootContext. AssemblyScript 0.17 switches to deferred cycle
// collection as soon as field types form a cycle, and then frees buffered
// objects only in __collect(), which nothing runs (and user code cannot call
// in 0.17): every request leaked. The runtime references root -> stream ->
// root are broken when the host deletes the stream.
//
// onDone / onLog / onDelete are overridden with no-ops: the SDK's versions
// build a debug log string and cross into the host on every request.

import { Context, RootContext } from '@solo-io/proxy-runtime';

export class StreamContext extends Context {
  constructor(context_id: u32, root: RootContext) {
    super(context_id, root);
  }

  /** The sidecar call this stream made was answered (headers == 0: reset or timeout). Effective context is set. */
  onSidecarResponse(_headers: u32): void {}

  /** True when the stream waits on a call past its deadline. */
  isOverdue(_nowNs: u64): bool {
    return false;
  }

  /** The tick found the stream overdue. Effective context is set. */
  onDeadline(): void {}

  onDone(): bool {
    return true;
  }

  onLog(): void {}

  onDelete(): void {}
}
