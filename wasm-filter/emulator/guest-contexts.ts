/**
 * The contexts of one VM as proxy-wasm-cpp-host tracks them: one root context
 * (id 1), stream contexts numbered after it, the context the current call
 * into the VM is for, and the effective context a host call acts on
 * (proxy_set_effective_context, reset to none at the start of every call into
 * the VM).
 */
import type { HttpStream } from './http-stream.js';

/** "No context" in the ABI; context ids start at 1. */
export const NO_CONTEXT = 0;

/** What a call into the VM changes, restored when it returns (calls nest: malloc inside a host call). */
export interface SavedContexts {
  current: number;
  effective: number;
}

export class GuestContexts {
  rootContextId = NO_CONTEXT;
  /** Streams with a live context, by context id. */
  readonly streams = new Map<number, HttpStream>();
  private nextContextId = 1;
  private currentContextId = NO_CONTEXT;
  private effectiveContextId = NO_CONTEXT;

  /** The next context id (the root's, then each stream's). */
  allocate(): number {
    return this.nextContextId++;
  }

  /** A call into the VM for `contextId` begins: it is current, and no context is effective yet. */
  enter(contextId: number): SavedContexts {
    const saved = { current: this.currentContextId, effective: this.effectiveContextId };
    this.currentContextId = contextId;
    this.effectiveContextId = NO_CONTEXT;
    return saved;
  }

  /** The call returned (or trapped): back to the caller's contexts. */
  leave(saved: SavedContexts): void {
    this.currentContextId = saved.current;
    this.effectiveContextId = saved.effective;
  }

  get effective(): number {
    return this.effectiveContextId;
  }

  /** proxy_set_effective_context: only the root or a live stream. */
  setEffective(contextId: number): boolean {
    if (contextId !== this.rootContextId && !this.streams.has(contextId)) return false;
    this.effectiveContextId = contextId;
    return true;
  }

  /** The context host calls act on now: the effective one if it is still alive, else the current one. */
  hostContextId(): number {
    const effective = this.effectiveContextId;
    if (effective !== NO_CONTEXT && (effective === this.rootContextId || this.streams.has(effective)))
      return effective;
    return this.currentContextId;
  }

  /** The stream host calls act on now, if they act on a stream. */
  streamForCall(): HttpStream | undefined {
    return this.streams.get(this.hostContextId());
  }
}
