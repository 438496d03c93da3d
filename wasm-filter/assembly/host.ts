// The one file that calls the host (STYLE rule 5). Thin wrappers over the raw
// proxy-wasm 0.2 imports that return results instead of trapping:
//   - the SDK's CHECK_RESULT throws (= abort = trap) on any non-Ok result, so
//     the SDK wrappers that use it are avoided;
//   - the SDK's RootContext.onConfigure passes the configuration size where
//     the ABI expects a pointer to write the size to, and its get/set_shared_data
//     swap arguments: those paths are replaced here (shared data goes through
//     the raw proxy_get_shared_data / proxy_set_shared_data imports, with the
//     ABI's argument order);
//   - metrics use the raw imports too (the SDK's Metric classes throw);
//   - out-parameters are zeroed before each call, because hosts skip writing
//     them for empty results (proxy-wasm-cpp-host get_buffer_bytes with length 0).

import * as abi from '@solo-io/proxy-runtime/imports';
import { free } from '@solo-io/proxy-runtime/malloc';
import { serializeHeaderPairs } from './header-pairs';

// proxy-wasm ABI 0.2 numbers.
export const LOG_TRACE: u32 = 0;
export const LOG_DEBUG: u32 = 1;
export const LOG_INFO: u32 = 2;
export const LOG_WARN: u32 = 3;
export const LOG_ERROR: u32 = 4;
export const LOG_CRITICAL: u32 = 5;

export const RESULT_OK: u32 = 0;
export const RESULT_NOT_FOUND: u32 = 1;
export const RESULT_CAS_MISMATCH: u32 = 8;

const MAP_REQUEST_HEADERS: i32 = 0;
const MAP_HTTP_CALL_RESPONSE_HEADERS: i32 = 6;
const BUFFER_HTTP_REQUEST_BODY: i32 = 0;
const BUFFER_HTTP_CALL_RESPONSE_BODY: i32 = 4;
const BUFFER_PLUGIN_CONFIGURATION: i32 = 7;
const STREAM_REQUEST: i32 = 0;
const METRIC_COUNTER: i32 = 0;
const METRIC_GAUGE: i32 = 1;
const GRPC_STATUS_NONE: u32 = 0xffffffff;

/** A host buffer larger than this is refused rather than copied (the filter never needs more). */
const MAX_HOST_BUFFER_BYTES: usize = 8 * 1024 * 1024;

/** Out-parameters the host writes into; addresses are taken with offsetof. */
class OutParams {
  ptr: usize = 0;
  size: usize = 0;
  token: u32 = 0;
  cas: u32 = 0;
  nanos: u64 = 0;
}

const out = new OutParams();

function outPtr(): usize {
  out.ptr = 0;
  out.size = 0;
  return changetype<usize>(out) + offsetof<OutParams>('ptr');
}

function outSize(): usize {
  return changetype<usize>(out) + offsetof<OutParams>('size');
}

/**
 * Copies the buffer the host allocated (through our exported malloc) and
 * releases it. Returns null when the host wrote nothing usable.
 */
function takeHostBuffer(): ArrayBuffer | null {
  const ptr = out.ptr;
  const size = out.size;
  out.ptr = 0;
  out.size = 0;
  if (ptr == 0 || size == 0) return new ArrayBuffer(0);
  if (size > MAX_HOST_BUFFER_BYTES) {
    free(ptr);
    return null;
  }
  const copy = new ArrayBuffer(<i32>size);
  memory.copy(changetype<usize>(copy), ptr, size);
  free(ptr);
  return copy;
}

function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

export function log(level: u32, message: string): void {
  const bytes = utf8(message);
  abi.proxy_log(level, changetype<usize>(bytes), <usize>bytes.byteLength);
}

/** The plugin's root id (Envoy's root_id), for logs; empty when the host has none. */
export function pluginRootId(): string {
  const path = utf8('plugin_root_id');
  const result = abi.proxy_get_property(changetype<usize>(path), <usize>path.byteLength, outPtr(), outSize());
  if (result != RESULT_OK) return '';
  const value = takeHostBuffer();
  if (value === null) return '';
  return String.UTF8.decode(value);
}

export function nowNs(): u64 {
  out.nanos = 0;
  abi.proxy_get_current_time_nanoseconds(changetype<usize>(out) + offsetof<OutParams>('nanos'));
  return out.nanos;
}

export function setTickPeriodMs(periodMs: u32): u32 {
  return abi.proxy_set_tick_period_milliseconds(periodMs);
}

function readBuffer(type: i32, length: u32): Uint8Array {
  const result = abi.proxy_get_buffer_bytes(type, 0, length, outPtr(), outSize());
  if (result != RESULT_OK) return new Uint8Array(0);
  const buffer = takeHostBuffer();
  if (buffer === null) return new Uint8Array(0);
  return Uint8Array.wrap(buffer);
}

/** The plugin configuration; only readable during onConfigure. */
export function pluginConfiguration(size: u32): Uint8Array {
  return readBuffer(BUFFER_PLUGIN_CONFIGURATION, size);
}

/** The body of the HTTP call response being delivered (first `size` bytes); only during the callback. */
export function httpCallResponseBody(size: u32): Uint8Array {
  return readBuffer(BUFFER_HTTP_CALL_RESPONSE_BODY, size);
}

/** The request body buffered so far (first `size` bytes); only readable in onRequestBody. */
export function requestBody(size: u32): Uint8Array {
  return readBuffer(BUFFER_HTTP_REQUEST_BODY, size);
}

function getHeader(map: i32, name: string): string | null {
  const key = utf8(name);
  const result = abi.proxy_get_header_map_value(
    map,
    changetype<usize>(key),
    <usize>key.byteLength,
    outPtr(),
    outSize(),
  );
  if (result != RESULT_OK) return null;
  const value = takeHostBuffer();
  if (value === null) return null;
  return String.UTF8.decode(value);
}

/** Every request header in one host call, serialized as the ABI's header map (see header-map-reader.ts). */
export function requestHeaderPairs(): Uint8Array {
  return headerPairs(MAP_REQUEST_HEADERS);
}

/** Every header of the HTTP call response being delivered, in one host call. */
export function httpCallResponseHeaderPairs(): Uint8Array {
  return headerPairs(MAP_HTTP_CALL_RESPONSE_HEADERS);
}

function headerPairs(map: i32): Uint8Array {
  const result = abi.proxy_get_header_map_pairs(map, outPtr(), outSize());
  if (result != RESULT_OK) return new Uint8Array(0);
  const pairs = takeHostBuffer();
  if (pairs === null) return new Uint8Array(0);
  return Uint8Array.wrap(pairs);
}

export function getRequestHeader(name: string): string | null {
  return getHeader(MAP_REQUEST_HEADERS, name);
}

export function getHttpCallResponseHeader(name: string): string | null {
  return getHeader(MAP_HTTP_CALL_RESPONSE_HEADERS, name);
}

/** Sets (replaces) a request header; only possible while the request headers are held. */
export function setRequestHeader(name: string, value: string): u32 {
  const k = utf8(name);
  const v = utf8(value);
  return abi.proxy_replace_header_map_value(
    MAP_REQUEST_HEADERS,
    changetype<usize>(k),
    <usize>k.byteLength,
    changetype<usize>(v),
    <usize>v.byteLength,
  );
}

export function removeRequestHeader(name: string): u32 {
  const k = utf8(name);
  return abi.proxy_remove_header_map_value(MAP_REQUEST_HEADERS, changetype<usize>(k), <usize>k.byteLength);
}

export function continueRequest(): u32 {
  return abi.proxy_continue_stream(STREAM_REQUEST);
}

/** Answers the request locally; the host sends it after the current callback returns. */
export function sendLocalReply(status: u32, details: string, body: string, headersFlat: string[]): u32 {
  const d = utf8(details);
  const b = utf8(body);
  const h = serializeHeaderPairs(headersFlat);
  return abi.proxy_send_local_response(
    status,
    changetype<usize>(d),
    <usize>d.byteLength,
    changetype<usize>(b),
    <usize>b.byteLength,
    changetype<usize>(h),
    <usize>h.byteLength,
    GRPC_STATUS_NONE,
  );
}

export class HttpCallDispatch {
  result: u32 = 0;
  token: u32 = 0;
}

const NO_TRAILERS = serializeHeaderPairs([]);

/**
 * Dispatches an HTTP call; the answer comes to the ROOT context's
 * onHttpCallResponse with this token. `cluster` and `headers` come
 * pre-encoded (they are fixed per configuration: see sidecar-call.ts).
 */
export function httpCall(
  cluster: ArrayBuffer,
  headers: ArrayBuffer,
  body: string,
  timeoutMs: u32,
): HttpCallDispatch {
  const c = cluster;
  const h = headers;
  const b = utf8(body);
  const noTrailers = NO_TRAILERS;
  out.token = 0;
  const d = new HttpCallDispatch();
  d.result = abi.proxy_http_call(
    changetype<usize>(c),
    <usize>c.byteLength,
    changetype<usize>(h),
    <usize>h.byteLength,
    changetype<usize>(b),
    <usize>b.byteLength,
    changetype<usize>(noTrailers),
    <usize>noTrailers.byteLength,
    timeoutMs,
    changetype<usize>(out) + offsetof<OutParams>('token'),
  );
  d.token = out.token;
  return d;
}

/** Makes later host calls act on another context (a stream, from a root callback). */
export function setEffectiveContext(contextId: u32): u32 {
  return abi.proxy_set_effective_context(contextId);
}

/** Defines a counter; returns its id, or -1 when the host refused (the filter then skips it). */
export function defineCounter(name: string): i64 {
  return defineMetric(METRIC_COUNTER, name);
}

/** Defines a gauge; returns its id, or -1 when the host refused. */
export function defineGauge(name: string): i64 {
  return defineMetric(METRIC_GAUGE, name);
}

function defineMetric(kind: i32, name: string): i64 {
  const n = utf8(name);
  out.token = 0;
  const result = abi.proxy_define_metric(
    kind,
    changetype<usize>(n),
    <usize>n.byteLength,
    changetype<usize>(out) + offsetof<OutParams>('token'),
  );
  if (result != RESULT_OK) return -1;
  return <i64>out.token;
}

export function incrementCounter(id: i64): void {
  if (id < 0) return;
  abi.proxy_increment_metric(<u32>id, 1);
}

export function recordGauge(id: i64, value: u64): void {
  if (id < 0) return;
  abi.proxy_record_metric(<u32>id, value);
}

/** A shared-data value: result RESULT_OK (bytes + cas), RESULT_NOT_FOUND, or another error. */
export class SharedValue {
  result: u32 = 0;
  cas: u32 = 0;
  bytes: Uint8Array = new Uint8Array(0);
}

/** Reads a key of this VM id's shared data (proxy_get_shared_data, ABI argument order). */
export function getSharedData(key: string): SharedValue {
  const k = utf8(key);
  const v = new SharedValue();
  out.cas = 0;
  v.result = abi.proxy_get_shared_data(
    changetype<usize>(k),
    <usize>k.byteLength,
    outPtr(),
    outSize(),
    changetype<usize>(out) + offsetof<OutParams>('cas'),
  );
  if (v.result != RESULT_OK) return v;
  v.cas = out.cas;
  const value = takeHostBuffer();
  if (value === null) {
    v.result = RESULT_NOT_FOUND;
    return v;
  }
  v.bytes = Uint8Array.wrap(value);
  return v;
}

/**
 * Writes a key: cas 0 writes unconditionally; a non-zero cas (from
 * getSharedData) writes only if nobody wrote the key since, else
 * RESULT_CAS_MISMATCH.
 */
export function setSharedData(key: string, value: ArrayBuffer, cas: u32): u32 {
  const k = utf8(key);
  return abi.proxy_set_shared_data(
    changetype<usize>(k),
    <usize>k.byteLength,
    changetype<usize>(value),
    <usize>value.byteLength,
    cas,
  );
}
