// A stream (per-request) context as the ABI dispatch and the root context
// know it. On its own it stays out of the way: every hook continues. It is
// what a root context without a valid configuration creates; AtpHttpContext
// overrides the hooks the filter acts on.
//
// Our own base class rather than the SDK's Context: the SDK's keeps a
// reference to the root context (the child would hold its creator), and its
// onDone / onLog / onDelete build a debug log string and cross into the host
// on every request.
//
// No field type of a stream may point back at a class that holds streams:
// AssemblyScript 0.17 switches to deferred cycle collection as soon as field
// types form a cycle, and then frees buffered objects only in __collect(),
// which nothing runs (and user code cannot call in 0.17): every request
// leaked. So streams hold the plugin state, the root holds streams typed as
// this class, and nothing here names either; the runtime references (root ->
// stream -> plugin state) are dropped when the host deletes the stream.

import {
  FilterDataStatusValues,
  FilterHeadersStatusValues,
  FilterMetadataStatusValues,
  FilterTrailersStatusValues,
} from '@solo-io/proxy-runtime';

export class StreamContext {
  readonly contextId: u32;
  /** The root context that created this stream (an id, for the ABI dispatch: never a reference). */
  readonly rootContextId: u32;

  constructor(contextId: u32, rootContextId: u32) {
    this.contextId = contextId;
    this.rootContextId = rootContextId;
  }

  onRequestHeaders(_headers: u32, _end_of_stream: bool): FilterHeadersStatusValues {
    return FilterHeadersStatusValues.Continue;
  }

  onRequestBody(_body_buffer_length: usize, _end_of_stream: bool): FilterDataStatusValues {
    return FilterDataStatusValues.Continue;
  }

  onRequestTrailers(_trailers: u32): FilterTrailersStatusValues {
    return FilterTrailersStatusValues.Continue;
  }

  onRequestMetadata(_elements: u32): FilterMetadataStatusValues {
    return FilterMetadataStatusValues.Continue;
  }

  onResponseHeaders(_headers: u32, _end_of_stream: bool): FilterHeadersStatusValues {
    return FilterHeadersStatusValues.Continue;
  }

  onResponseBody(_body_buffer_length: usize, _end_of_stream: bool): FilterDataStatusValues {
    return FilterDataStatusValues.Continue;
  }

  onResponseTrailers(_trailers: u32): FilterTrailersStatusValues {
    return FilterTrailersStatusValues.Continue;
  }

  onResponseMetadata(_elements: u32): FilterMetadataStatusValues {
    return FilterMetadataStatusValues.Continue;
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

  /** The host deleted the stream: drop what the plugin state keeps for it. */
  onDelete(): void {}
}
