// The sidecar decision calls in flight: call token -> the stream context that
// made it. In Envoy an HTTP call belongs to the root context, so the answer
// arrives there with nothing but the token; this registry tells the root
// which stream to resume. Part of the plugin state, so the stream that
// dispatches a call registers it and forgets it when it ends, without
// reaching back to the root. No host calls.

/** Stream context ids start at 1 (0 is "no context" in the ABI). */
export const NO_STREAM: u32 = 0;

export class PendingCalls {
  private streamOf: Map<u32, u32> = new Map();

  /** A stream dispatched a call and is now paused on it. */
  track(token: u32, contextId: u32): void {
    this.streamOf.set(token, contextId);
  }

  /** The stream waiting on `token`, which is no longer pending; NO_STREAM when none is (answered, or unknown). */
  take(token: u32): u32 {
    if (!this.streamOf.has(token)) return NO_STREAM;
    const contextId = this.streamOf.get(token);
    this.streamOf.delete(token);
    return contextId;
  }

  /** The stream ended before its call was answered: a late answer then finds nobody. */
  forget(token: u32, contextId: u32): void {
    if (this.streamOf.has(token) && this.streamOf.get(token) == contextId) this.streamOf.delete(token);
  }
}
