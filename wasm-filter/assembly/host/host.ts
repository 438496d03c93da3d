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
//
// On the fast path nothing is copied or encoded into fresh buffers: bytes the
// host returns are BORROWED (read in place from the block the host got from
// our malloc, host-memory.ts, valid until releaseBorrowed() or the next
// borrowing call), and what we send is written into reused ByteWriters.

import * as abi from '@solo-io/proxy-runtime/imports';
import { ByteWriter } from '../text/byte-writer';
import { releaseHostBlock } from './host-memory';
import { serializeHeaderPairs, writeHeaderPairs } from './header-pairs';

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

/** A host buffer larger than this is refused rather than read (the filter never needs more). */
const MAX_HOST_BUFFER_BYTES: usize = 8 * 1024 * 1024;
/** Returned by the borrowing calls when the host gave nothing usable. */
export const NOTHING_BORROWED: i32 = -1;

/** Out-parameters the host writes into; addresses are taken with offsetof. */
class OutParams {
  ptr: usize = 0;
  size: usize = 0;
  token: u32 = 0;
  cas: u32 = 0;
  nanos: u64 = 0;
}

const out = new OutParams();

/** The block the last borrowing call got from the host (ptr 0: none). */
class Borrowed {
  ptr: usize = 0;
  size: i32 = 0;
}

const borrowed = new Borrowed();

// Reused for everything the filter sends (STYLE rule 9: no allocation per request).
const keyBytes = new ByteWriter(256);
const valueBytes = new ByteWriter(256);
const replyBody = new ByteWriter(512);
const replyHeaders = new ByteWriter(512);
const replyDetails = new ByteWriter(64);
const logBytes = new ByteWriter(256);

function outPtr(): usize {
  out.ptr = 0;
  out.size = 0;
  return changetype<usize>(out) + offsetof<OutParams>('ptr');
}

function outSize(): usize {
  return changetype<usize>(out) + offsetof<OutParams>('size');
}

/**
 * Takes the block the host just wrote as the borrowed bytes; returns its
 * length, or NOTHING_BORROWED when the call failed or the block is absurd.
 */
function borrowOut(result: u32): i32 {
  const ptr = out.ptr;
  const size = out.size;
  out.ptr = 0;
  out.size = 0;
  if (result != RESULT_OK) {
    // A host that allocated and then failed still handed us the block.
    releaseHostBlock(ptr);
    return NOTHING_BORROWED;
  }
  if (size > MAX_HOST_BUFFER_BYTES) {
    releaseHostBlock(ptr);
    return NOTHING_BORROWED;
  }
  if (ptr == 0 || size == 0) {
    releaseHostBlock(ptr);
    return 0;
  }
  borrowed.ptr = ptr;
  borrowed.size = <i32>size;
  return <i32>size;
}

/** Where the borrowed bytes start (valid until releaseBorrowed() or the next borrowing call). */
export function borrowedPtr(): usize {
  return borrowed.ptr;
}

/** Gives the borrowed bytes back to the host memory (idempotent). */
export function releaseBorrowed(): void {
  const ptr = borrowed.ptr;
  borrowed.ptr = 0;
  borrowed.size = 0;
  releaseHostBlock(ptr);
}

/** The borrowed bytes copied into a managed buffer, and given back. */
function copyBorrowed(size: i32): Uint8Array {
  if (size <= 0) return new Uint8Array(0);
  const copy = new Uint8Array(size);
  memory.copy(copy.dataStart, borrowed.ptr, <usize>size);
  releaseBorrowed();
  return copy;
}

export function log(level: u32, message: string): void {
  const m = logBytes.reset().text(message);
  abi.proxy_log(level, m.dataStart, <usize>m.length);
}

/** The plugin's root id (Envoy's root_id), for logs; empty when the host has none. */
export function pluginRootId(): string {
  releaseBorrowed();
  const path = keyBytes.reset().text('plugin_root_id');
  const size = borrowOut(abi.proxy_get_property(path.dataStart, <usize>path.length, outPtr(), outSize()));
  if (size <= 0) return '';
  const value = String.UTF8.decodeUnsafe(borrowed.ptr, <usize>size);
  releaseBorrowed();
  return value;
}

export function nowNs(): u64 {
  out.nanos = 0;
  abi.proxy_get_current_time_nanoseconds(changetype<usize>(out) + offsetof<OutParams>('nanos'));
  return out.nanos;
}

export function setTickPeriodMs(periodMs: u32): u32 {
  return abi.proxy_set_tick_period_milliseconds(periodMs);
}

function borrowBuffer(type: i32, length: u32): i32 {
  releaseBorrowed();
  return borrowOut(abi.proxy_get_buffer_bytes(type, 0, length, outPtr(), outSize()));
}

/** The plugin configuration; only readable during onConfigure. */
export function pluginConfiguration(size: u32): Uint8Array {
  return copyBorrowed(borrowBuffer(BUFFER_PLUGIN_CONFIGURATION, size));
}

/** The body of the HTTP call response being delivered (first `size` bytes); only during the callback. */
export function httpCallResponseBody(size: u32): Uint8Array {
  return copyBorrowed(borrowBuffer(BUFFER_HTTP_CALL_RESPONSE_BODY, size));
}

/**
 * Borrows the request body buffered so far (first `size` bytes; only in
 * onRequestBody): returns its length (NOTHING_BORROWED on failure), bytes at borrowedPtr().
 */
export function borrowRequestBody(size: u32): i32 {
  return borrowBuffer(BUFFER_HTTP_REQUEST_BODY, size);
}

/**
 * Borrows every request header, serialized as the ABI's header map (see
 * header-map-reader.ts), in one host call. Returns its length or NOTHING_BORROWED.
 */
export function borrowRequestHeaderPairs(): i32 {
  return borrowHeaderPairs(MAP_REQUEST_HEADERS);
}

/** Borrows every header of the HTTP call response being delivered, in one host call. */
export function borrowHttpCallResponseHeaderPairs(): i32 {
  return borrowHeaderPairs(MAP_HTTP_CALL_RESPONSE_HEADERS);
}

function borrowHeaderPairs(map: i32): i32 {
  releaseBorrowed();
  return borrowOut(abi.proxy_get_header_map_pairs(map, outPtr(), outSize()));
}

function getHeader(map: i32, name: string): string | null {
  releaseBorrowed();
  const key = keyBytes.reset().text(name);
  const size = borrowOut(
    abi.proxy_get_header_map_value(map, key.dataStart, <usize>key.length, outPtr(), outSize()),
  );
  if (size < 0) return null;
  if (size == 0) return '';
  const value = String.UTF8.decodeUnsafe(borrowed.ptr, <usize>size);
  releaseBorrowed();
  return value;
}

export function getHttpCallResponseHeader(name: string): string | null {
  return getHeader(MAP_HTTP_CALL_RESPONSE_HEADERS, name);
}

/** Sets (replaces) a request header; only possible while the request headers are held. */
export function setRequestHeader(name: string, value: string): u32 {
  const k = keyBytes.reset().text(name);
  const v = valueBytes.reset().text(value);
  return abi.proxy_replace_header_map_value(
    MAP_REQUEST_HEADERS,
    k.dataStart,
    <usize>k.length,
    v.dataStart,
    <usize>v.length,
  );
}

export function removeRequestHeader(name: string): u32 {
  const k = keyBytes.reset().text(name);
  return abi.proxy_remove_header_map_value(MAP_REQUEST_HEADERS, k.dataStart, <usize>k.length);
}

export function continueRequest(): u32 {
  return abi.proxy_continue_stream(STREAM_REQUEST);
}

/** Answers the request locally; the host sends it after the current callback returns. */
export function sendLocalReply(status: u32, details: string, body: string, headersFlat: string[]): u32 {
  const d = replyDetails.reset().text(details);
  const b = replyBody.reset().text(body);
  const h = writeHeaderPairs(replyHeaders.reset(), headersFlat);
  return abi.proxy_send_local_response(
    status,
    d.dataStart,
    <usize>d.length,
    b.dataStart,
    <usize>b.length,
    h.dataStart,
    <usize>h.length,
    GRPC_STATUS_NONE,
  );
}

const NO_TRAILERS = serializeHeaderPairs([]);

/**
 * Dispatches an HTTP call; the answer comes to the ROOT context's
 * onHttpCallResponse with the token (lastCallToken()). `cluster` and
 * `headers` come pre-encoded (they are fixed per configuration: see
 * sidecar-call.ts), the body as bytes.
 */
export function httpCall(
  cluster: ArrayBuffer,
  headers: ArrayBuffer,
  bodyPtr: usize,
  bodyLength: i32,
  timeoutMs: u32,
): u32 {
  const c = cluster;
  const h = headers;
  const noTrailers = NO_TRAILERS;
  out.token = 0;
  return abi.proxy_http_call(
    changetype<usize>(c),
    <usize>c.byteLength,
    changetype<usize>(h),
    <usize>h.byteLength,
    bodyPtr,
    <usize>bodyLength,
    changetype<usize>(noTrailers),
    <usize>noTrailers.byteLength,
    timeoutMs,
    changetype<usize>(out) + offsetof<OutParams>('token'),
  );
}

/** The token of the last dispatched HTTP call. */
export function lastCallToken(): u32 {
  return out.token;
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
  const n = keyBytes.reset().text(name);
  out.token = 0;
  const result = abi.proxy_define_metric(
    kind,
    n.dataStart,
    <usize>n.length,
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

/**
 * Borrows the value of a key of this VM id's shared data (proxy_get_shared_data,
 * ABI argument order; the key as `keyLength` bytes at `keyPtr`). Returns the
 * host's result: RESULT_OK (value at borrowedPtr(), borrowedLength() bytes,
 * cas from lastSharedCas()), RESULT_NOT_FOUND or another error.
 */
export function borrowSharedData(keyPtr: usize, keyLength: i32): u32 {
  releaseBorrowed();
  out.cas = 0;
  const result = abi.proxy_get_shared_data(
    keyPtr,
    <usize>keyLength,
    outPtr(),
    outSize(),
    changetype<usize>(out) + offsetof<OutParams>('cas'),
  );
  if (result != RESULT_OK) {
    borrowOut(result);
    return result;
  }
  if (borrowOut(result) < 0) return RESULT_NOT_FOUND;
  return RESULT_OK;
}

/** Length of the borrowed bytes. */
export function borrowedLength(): i32 {
  return borrowed.size;
}

/** The cas of the value the last borrowSharedData returned. */
export function lastSharedCas(): u32 {
  return out.cas;
}

/**
 * Writes a key: cas 0 writes unconditionally; a non-zero cas (from
 * borrowSharedData) writes only if nobody wrote the key since, else
 * RESULT_CAS_MISMATCH.
 */
export function setSharedDataBytes(
  keyPtr: usize,
  keyLength: i32,
  valuePtr: usize,
  valueLength: i32,
  cas: u32,
): u32 {
  return abi.proxy_set_shared_data(keyPtr, <usize>keyLength, valuePtr, <usize>valueLength, cas);
}

/** A shared-data value copied out: result RESULT_OK (bytes + cas), RESULT_NOT_FOUND, or another error. */
export class SharedValue {
  result: u32 = 0;
  cas: u32 = 0;
  bytes: Uint8Array = new Uint8Array(0);
}

/** Reads (and copies) a key of this VM id's shared data; for the tick, not the request path. */
export function getSharedData(key: string): SharedValue {
  const k = keyBytes.reset().text(key);
  const v = new SharedValue();
  v.result = borrowSharedData(k.dataStart, k.length);
  if (v.result != RESULT_OK) return v;
  v.cas = out.cas;
  v.bytes = copyBorrowed(borrowed.size);
  return v;
}

/** Writes a key (see setSharedDataBytes). */
export function setSharedData(key: string, value: ArrayBuffer, cas: u32): u32 {
  const k = keyBytes.reset().text(key);
  return setSharedDataBytes(k.dataStart, k.length, changetype<usize>(value), value.byteLength, cas);
}
