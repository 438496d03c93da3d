// The proxy-wasm 0.2 entry points (proxy_on_*), dispatching to our root and
// stream contexts. They replace the SDK's exports.ts on purpose: in SDK 0.1.8
// compiled by AssemblyScript 0.17, getContext()/getRootContext() ("map.get(id)
// as Context") retain the context twice and release it once, so every hook
// call leaked a reference — stream contexts were never freed (a few hundred
// bytes per request) and the root's reference count, bumped on every callback,
// would overflow (an abort, i.e. a trap) after 2^28 calls. Here contexts are
// looked up in our own maps without casts, and they are our own classes: the
// SDK is used for its enums, imports and malloc only.

import {
  FilterDataStatusValues,
  FilterHeadersStatusValues,
  FilterMetadataStatusValues,
  FilterTrailersStatusValues,
} from '@solo-io/proxy-runtime';
import { AtpRootContext } from './atp-root-context';
import { StreamContext } from './stream-context';

// Our malloc lends a reused arena to the host for the buffers it returns (host/host-memory.ts).
export { malloc } from '../host/host-memory';

const roots = new Map<u32, AtpRootContext>();
const streams = new Map<u32, StreamContext>();
// Consecutive hooks are mostly for the same stream (headers, body, ... of one
// request): the last one looked up is kept, saving the map lookups per hook.
let lastStreamId: u32 = 0;
let lastStream: StreamContext | null = null;

/** The stream context `id`, or null when the host names none we created. */
function streamOf(id: u32): StreamContext | null {
  if (id == lastStreamId && id != 0) return lastStream;
  if (!streams.has(id)) return null;
  const stream = streams.get(id);
  lastStreamId = id;
  lastStream = stream;
  return stream;
}

export function proxy_abi_version_0_2_0(): void {}

export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {
  if (root_context_id == 0) {
    if (!roots.has(context_id)) roots.set(context_id, new AtpRootContext(context_id));
    return;
  }
  if (streams.has(context_id) || !roots.has(root_context_id)) return;
  streams.set(context_id, roots.get(root_context_id).createStream(context_id));
}

export function proxy_on_vm_start(root_context_id: u32, vm_configuration_size: u32): u32 {
  if (!roots.has(root_context_id)) return 0;
  return roots.get(root_context_id).onStart(vm_configuration_size) ? 1 : 0;
}

export function proxy_validate_configuration(root_context_id: u32, configuration_size: u32): u32 {
  if (!roots.has(root_context_id)) return 0;
  return roots.get(root_context_id).validateConfiguration(configuration_size) ? 1 : 0;
}

export function proxy_on_configure(root_context_id: u32, configuration_size: u32): u32 {
  if (!roots.has(root_context_id)) return 0;
  return roots.get(root_context_id).onConfigure(configuration_size) ? 1 : 0;
}

export function proxy_on_tick(root_context_id: u32): void {
  if (roots.has(root_context_id)) roots.get(root_context_id).onTick();
}

export function proxy_on_http_call_response(
  root_context_id: u32,
  token: u32,
  headers: u32,
  body_size: u32,
  trailers: u32,
): void {
  if (roots.has(root_context_id))
    roots.get(root_context_id).onHttpCallResponse(token, headers, body_size, trailers);
}

export function proxy_on_request_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  const stream = streamOf(context_id);
  if (stream === null) return FilterHeadersStatusValues.Continue;
  return stream.onRequestHeaders(headers, end_of_stream != 0);
}

export function proxy_on_request_body(context_id: u32, body_buffer_length: u32, end_of_stream: u32): u32 {
  const stream = streamOf(context_id);
  if (stream === null) return FilterDataStatusValues.Continue;
  return stream.onRequestBody(body_buffer_length, end_of_stream != 0);
}

export function proxy_on_request_trailers(context_id: u32, trailers: u32): u32 {
  const stream = streamOf(context_id);
  if (stream === null) return FilterTrailersStatusValues.Continue;
  return stream.onRequestTrailers(trailers);
}

export function proxy_on_request_metadata(context_id: u32, elements: u32): u32 {
  const stream = streamOf(context_id);
  if (stream === null) return FilterMetadataStatusValues.Continue;
  return stream.onRequestMetadata(elements);
}

export function proxy_on_response_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  const stream = streamOf(context_id);
  if (stream === null) return FilterHeadersStatusValues.Continue;
  return stream.onResponseHeaders(headers, end_of_stream != 0);
}

export function proxy_on_response_body(context_id: u32, body_buffer_length: u32, end_of_stream: u32): u32 {
  const stream = streamOf(context_id);
  if (stream === null) return FilterDataStatusValues.Continue;
  return stream.onResponseBody(body_buffer_length, end_of_stream != 0);
}

export function proxy_on_response_trailers(context_id: u32, trailers: u32): u32 {
  const stream = streamOf(context_id);
  if (stream === null) return FilterTrailersStatusValues.Continue;
  return stream.onResponseTrailers(trailers);
}

export function proxy_on_response_metadata(context_id: u32, elements: u32): u32 {
  const stream = streamOf(context_id);
  if (stream === null) return FilterMetadataStatusValues.Continue;
  return stream.onResponseMetadata(elements);
}

export function proxy_on_done(context_id: u32): u32 {
  const stream = streamOf(context_id);
  if (stream !== null) return stream.onDone() ? 1 : 0;
  if (roots.has(context_id)) return roots.get(context_id).onDone() ? 1 : 0;
  return 1;
}

export function proxy_on_log(context_id: u32): void {
  const stream = streamOf(context_id);
  if (stream !== null) stream.onLog();
}

export function proxy_on_delete(context_id: u32): void {
  const stream = streamOf(context_id);
  if (stream !== null) {
    stream.onDelete();
    streams.delete(context_id);
    if (lastStreamId == context_id) {
      lastStreamId = 0;
      lastStream = null;
    }
    // The root that created the stream forgets it too (it answers overdue streams and call responses).
    if (roots.has(stream.rootContextId)) roots.get(stream.rootContextId).releaseStream(context_id);
    return;
  }
  if (roots.has(context_id)) {
    roots.get(context_id).onDelete();
    roots.delete(context_id);
  }
}

// Not used by this filter; exported so hosts find the full 0.2 surface.
export function proxy_on_queue_ready(_root_context_id: u32, _token: u32): void {}
export function proxy_on_foreign_function(_root_context_id: u32, _function_id: u32, _data_size: u32): void {}
export function proxy_on_grpc_receive_initial_metadata(_context_id: u32, _token: u32, _headers: u32): void {}
export function proxy_on_grpc_trailing_metadata(_context_id: u32, _token: u32, _trailers: u32): void {}
export function proxy_on_grpc_receive(_context_id: u32, _token: u32, _response_size: u32): void {}
export function proxy_on_grpc_close(_context_id: u32, _token: u32, _status_code: u32): void {}
