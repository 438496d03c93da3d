/**
 * The proxy-wasm 0.2.x host functions (module "env") and the WASI subset
 * proxy-wasm-cpp-host provides, as WebAssembly imports. Each function turns
 * guest pointers into values, asks the HostBackend, and writes results back —
 * with the argument checks of proxy-wasm-cpp-host's exports.cc.
 *
 * Rules: a host call never throws into the guest, except proc_exit (which
 * ends the call, as a trap) and genuine traps of a nested guest call
 * (malloc); an emulator bug is reported through hostError and answered
 * InternalFailure. Any import the module declares that is not listed here is
 * answered Unimplemented (ENOSYS for WASI).
 */
import { randomFillSync } from 'node:crypto';
import { AtpError, hasCode } from '@mercato/platform/errors';
import { ERR } from '../errors.js';
import {
  BUFFER_TYPE_MAX,
  HEADER_MAP_TYPE_MAX,
  LOG_LEVEL_MAX,
  METRIC_TYPE_MAX,
  STREAM_TYPE_MAX,
  WasmResult,
} from './abi.js';
import { deserializeHeaderPairs, serializeHeaderPairs } from './header-pairs.js';
import type { HostBackend } from './host-backend.js';

/** Thrown by proc_exit: the guest asked to stop (the SDK's abort path). Counted as a trap. */
function guestExit(exitCode: number): AtpError {
  return new AtpError(ERR.GUEST_EXIT, `proc_exit(${exitCode})`);
}

const WASI_ESUCCESS = 0;
const WASI_EBADF = 8;
const WASI_EFAULT = 21;
const WASI_ENOSYS = 52;
const WASI_ENOTSUP = 58;
const WASI_CLOCK_REALTIME = 0;
const WASI_MODULES = ['wasi_unstable', 'wasi_snapshot_preview1'];
const STDOUT_FD = 1;
const STDERR_FD = 2;
const LOG_INFO = 2;
const LOG_ERROR = 4;
const FDSTAT_BYTES = 24;
const FDSTAT_RIGHTS_FD_WRITE = 64n;

type HostFunction = (...args: Array<number | bigint>) => number | bigint | undefined;

/** Builds the import object for `module`: every import it declares gets a function. */
export function createHostImports(module: WebAssembly.Module, host: HostBackend): WebAssembly.Imports {
  const env = envFunctions(host);
  const wasi = wasiFunctions(host);
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') continue;
    const table = imp.module === 'env' ? env : WASI_MODULES.includes(imp.module) ? wasi : undefined;
    const fn = table?.[imp.name] ?? unimplemented(host, `${imp.module}.${imp.name}`, imp.module);
    imports[imp.module] ??= {};
    const target = imports[imp.module];
    if (target !== undefined) target[imp.name] = guard(host, `${imp.module}.${imp.name}`, fn);
  }
  return imports;
}

/** gRPC calls and streams: stubs that answer Unimplemented / NotFound (the ATP filter uses HTTP only). */
const GRPC_STUBS = new Set([
  'proxy_grpc_call',
  'proxy_grpc_stream',
  'proxy_grpc_cancel',
  'proxy_grpc_close',
  'proxy_grpc_send',
]);

/**
 * Every host function the emulator implements with its ABI semantics, as
 * "module.name". The gRPC stubs and any import not listed answer
 * Unimplemented (ENOSYS for WASI).
 */
export function implementedImports(): string[] {
  const probe = {} as HostBackend;
  const env = Object.keys(envFunctions(probe))
    .filter((name) => !GRPC_STUBS.has(name))
    .map((name) => `env.${name}`);
  const wasi = Object.keys(wasiFunctions(probe));
  return [...env, ...WASI_MODULES.flatMap((m) => wasi.map((name) => `${m}.${name}`))];
}

function guard(host: HostBackend, name: string, fn: HostFunction): HostFunction {
  return (...args) => {
    try {
      const clock = host.guestClock;
      return clock === undefined ? fn(...args) : clock.timeHost(() => fn(...args));
    } catch (err) {
      // Traps of nested guest calls (malloc) and proc_exit must end the guest call.
      if (hasCode(err, ERR.GUEST_EXIT) || err instanceof WebAssembly.RuntimeError) throw err;
      host.hostError(name, err);
      return WasmResult.InternalFailure;
    }
  };
}

function unimplemented(host: HostBackend, name: string, module: string): HostFunction {
  return () => {
    host.unimplemented(name);
    return WASI_MODULES.includes(module) ? WASI_ENOSYS : WasmResult.Unimplemented;
  };
}

const u32 = (v: number | bigint | undefined): number => Number(v ?? 0) >>> 0;
const i32 = (v: number | bigint | undefined): number => Number(v ?? 0) | 0;
const big = (v: number | bigint | undefined): bigint => (typeof v === 'bigint' ? v : BigInt(v ?? 0));

function envFunctions(host: HostBackend): Record<string, HostFunction> {
  const mem = () => host.memory();
  const str = (ptr: number | bigint | undefined, size: number | bigint | undefined) =>
    mem().readUtf8(u32(ptr), u32(size));
  const bytes = (ptr: number | bigint | undefined, size: number | bigint | undefined) =>
    mem().read(u32(ptr), u32(size));
  const headerKey = (ptr: number | bigint | undefined, size: number | bigint | undefined) =>
    mem().readLatin1(u32(ptr), u32(size));
  const copyOut = (
    data: Uint8Array,
    ptrPtr: number | bigint | undefined,
    sizePtr: number | bigint | undefined,
  ) =>
    mem().copyToPointerSize(data, u32(ptrPtr), u32(sizePtr)) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;

  return {
    proxy_log(level, ptr, size) {
      if (u32(level) > LOG_LEVEL_MAX) return WasmResult.BadArgument;
      const message = str(ptr, size);
      if (message === undefined) return WasmResult.InvalidMemoryAccess;
      host.log(u32(level), message);
      return WasmResult.Ok;
    },
    proxy_get_log_level(levelPtr) {
      return mem().writeU32(u32(levelPtr), host.logLevel()) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_get_status(codePtr, ptrPtr, sizePtr) {
      const status = host.getStatus();
      if (!mem().writeU32(u32(codePtr), status.code)) return WasmResult.InvalidMemoryAccess;
      return copyOut(Buffer.from(status.message, 'utf8'), ptrPtr, sizePtr);
    },
    proxy_set_tick_period_milliseconds(periodMs) {
      return host.setTickPeriod(u32(periodMs));
    },
    proxy_get_current_time_nanoseconds(resultPtr) {
      return mem().writeU64(u32(resultPtr), host.nowNs()) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_get_property(pathPtr, pathSize, ptrPtr, sizePtr) {
      const path = bytes(pathPtr, pathSize);
      if (path === undefined) return WasmResult.InvalidMemoryAccess;
      // Path segments are separated by NUL bytes; the emulator keys properties by dotted path.
      const key = Buffer.from(path).toString('utf8').split('\u0000').filter(Boolean).join('.');
      const value = host.getProperty(key);
      if (value === undefined) return WasmResult.NotFound;
      return copyOut(value, ptrPtr, sizePtr);
    },
    proxy_set_property(pathPtr, pathSize, valuePtr, valueSize) {
      const path = str(pathPtr, pathSize);
      const value = bytes(valuePtr, valueSize);
      if (path === undefined || value === undefined) return WasmResult.InvalidMemoryAccess;
      return host.setProperty(path.split('\u0000').filter(Boolean).join('.'), value);
    },
    proxy_continue_stream(streamType) {
      if (u32(streamType) > STREAM_TYPE_MAX) return WasmResult.BadArgument;
      return host.continueStream(u32(streamType));
    },
    proxy_close_stream(streamType) {
      if (u32(streamType) > STREAM_TYPE_MAX) return WasmResult.BadArgument;
      return host.closeStream(u32(streamType));
    },
    proxy_send_local_response(status, detailsPtr, detailsSize, bodyPtr, bodySize, pairsPtr, pairsSize, grpc) {
      const details = str(detailsPtr, detailsSize);
      const body = bytes(bodyPtr, bodySize);
      const pairs = bytes(pairsPtr, pairsSize);
      if (details === undefined || body === undefined || pairs === undefined)
        return WasmResult.InvalidMemoryAccess;
      return host.sendLocalResponse({
        status: u32(status),
        details,
        body,
        headers: deserializeHeaderPairs(pairs),
        grpcStatus: i32(grpc),
      });
    },
    proxy_clear_route_cache() {
      return WasmResult.Ok;
    },
    proxy_get_shared_data(keyPtr, keySize, ptrPtr, sizePtr, casPtr) {
      const key = str(keyPtr, keySize);
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      const entry = host.getSharedData(key);
      if (entry === undefined) return WasmResult.NotFound;
      const copied = copyOut(entry.value, ptrPtr, sizePtr);
      if (copied !== WasmResult.Ok) return copied;
      return mem().writeU32(u32(casPtr), entry.cas) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_set_shared_data(keyPtr, keySize, valuePtr, valueSize, cas) {
      const key = str(keyPtr, keySize);
      const value = bytes(valuePtr, valueSize);
      if (key === undefined || value === undefined) return WasmResult.InvalidMemoryAccess;
      return host.setSharedData(key, value, u32(cas));
    },
    proxy_register_shared_queue(namePtr, nameSize, tokenPtr) {
      const name = str(namePtr, nameSize);
      if (name === undefined) return WasmResult.InvalidMemoryAccess;
      const token = host.registerSharedQueue(name);
      return mem().writeU32(u32(tokenPtr), token) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_resolve_shared_queue(vmIdPtr, vmIdSize, namePtr, nameSize, tokenPtr) {
      const vmId = str(vmIdPtr, vmIdSize);
      const name = str(namePtr, nameSize);
      if (vmId === undefined || name === undefined) return WasmResult.InvalidMemoryAccess;
      const token = host.resolveSharedQueue(vmId, name);
      if (token === undefined) return WasmResult.NotFound;
      return mem().writeU32(u32(tokenPtr), token) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_dequeue_shared_queue(token, ptrPtr, sizePtr) {
      const { result, data } = host.dequeueSharedQueue(u32(token));
      if (result !== WasmResult.Ok || data === undefined) return result;
      return copyOut(data, ptrPtr, sizePtr);
    },
    proxy_enqueue_shared_queue(token, dataPtr, dataSize) {
      const data = bytes(dataPtr, dataSize);
      if (data === undefined) return WasmResult.InvalidMemoryAccess;
      return host.enqueueSharedQueue(u32(token), data);
    },
    proxy_add_header_map_value(mapType, keyPtr, keySize, valuePtr, valueSize) {
      if (u32(mapType) > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = headerKey(keyPtr, keySize);
      const value = headerKey(valuePtr, valueSize);
      if (key === undefined || value === undefined) return WasmResult.InvalidMemoryAccess;
      const map = host.headerMap(u32(mapType), true);
      if (map === undefined) return WasmResult.BadArgument;
      map.add(key, value);
      return WasmResult.Ok;
    },
    proxy_get_header_map_value(mapType, keyPtr, keySize, ptrPtr, sizePtr) {
      if (u32(mapType) > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = headerKey(keyPtr, keySize);
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      const map = host.headerMap(u32(mapType), false);
      if (map === undefined) return WasmResult.BadArgument;
      const value = map.get(key);
      if (value === undefined) return WasmResult.NotFound;
      return copyOut(Buffer.from(value, 'latin1'), ptrPtr, sizePtr);
    },
    proxy_get_header_map_pairs(mapType, ptrPtr, sizePtr) {
      if (u32(mapType) > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      // Like Envoy: an unavailable map reads as empty here, not as an error.
      const pairs = host.headerMap(u32(mapType), false)?.pairs() ?? [];
      return copyOut(pairs.length === 0 ? new Uint8Array(0) : serializeHeaderPairs(pairs), ptrPtr, sizePtr);
    },
    proxy_set_header_map_pairs(mapType, ptr, size) {
      if (u32(mapType) > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const data = bytes(ptr, size);
      if (data === undefined) return WasmResult.InvalidMemoryAccess;
      const map = host.headerMap(u32(mapType), true);
      if (map === undefined) return WasmResult.BadArgument;
      map.setAll(deserializeHeaderPairs(data));
      return WasmResult.Ok;
    },
    proxy_replace_header_map_value(mapType, keyPtr, keySize, valuePtr, valueSize) {
      if (u32(mapType) > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = headerKey(keyPtr, keySize);
      const value = headerKey(valuePtr, valueSize);
      if (key === undefined || value === undefined) return WasmResult.InvalidMemoryAccess;
      const map = host.headerMap(u32(mapType), true);
      if (map === undefined) return WasmResult.BadArgument;
      map.replace(key, value);
      return WasmResult.Ok;
    },
    proxy_remove_header_map_value(mapType, keyPtr, keySize) {
      if (u32(mapType) > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = headerKey(keyPtr, keySize);
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      const map = host.headerMap(u32(mapType), true);
      if (map === undefined) return WasmResult.BadArgument;
      map.remove(key);
      return WasmResult.Ok;
    },
    proxy_get_header_map_size(mapType, resultPtr) {
      if (u32(mapType) > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const map = host.headerMap(u32(mapType), true);
      if (map === undefined) return WasmResult.BadArgument;
      return mem().writeU32(u32(resultPtr), map.byteSize()) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_get_buffer_bytes(bufferType, start, length, ptrPtr, sizePtr) {
      if (u32(bufferType) > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const buffer = host.buffer(u32(bufferType));
      if (buffer === undefined) return WasmResult.NotFound;
      const data = buffer.bytes();
      const from = u32(start);
      if (from + u32(length) > 0xffffffff) return WasmResult.BadArgument;
      const to = Math.min(from + u32(length), data.length);
      // Like proxy-wasm-cpp-host: nothing to copy means Ok without touching the out-parameters.
      if (to <= from) return WasmResult.Ok;
      return copyOut(data.subarray(from, to), ptrPtr, sizePtr);
    },
    proxy_get_buffer_status(bufferType, lengthPtr, flagsPtr) {
      if (u32(bufferType) > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const buffer = host.buffer(u32(bufferType));
      if (buffer === undefined) return WasmResult.NotFound;
      // proxy-wasm-cpp-host always reports flags 0.
      if (!mem().writeU32(u32(lengthPtr), buffer.bytes().length)) return WasmResult.InvalidMemoryAccess;
      return mem().writeU32(u32(flagsPtr), 0) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_set_buffer_bytes(bufferType, start, length, dataPtr, dataSize) {
      if (u32(bufferType) > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const buffer = host.buffer(u32(bufferType));
      if (buffer === undefined) return WasmResult.NotFound;
      const data = bytes(dataPtr, dataSize);
      if (data === undefined) return WasmResult.InvalidMemoryAccess;
      if (buffer.set === undefined) return WasmResult.BadArgument;
      return buffer.set(u32(start), u32(length), data);
    },
    proxy_http_call(
      uriPtr,
      uriSize,
      headersPtr,
      headersSize,
      bodyPtr,
      bodySize,
      trailersPtr,
      trailersSize,
      timeoutMs,
      tokenPtr,
    ) {
      const cluster = str(uriPtr, uriSize);
      const headers = bytes(headersPtr, headersSize);
      const body = bytes(bodyPtr, bodySize);
      const trailers = bytes(trailersPtr, trailersSize);
      if (cluster === undefined || headers === undefined || body === undefined || trailers === undefined) {
        return WasmResult.InvalidMemoryAccess;
      }
      // Verify the token address before starting anything asynchronous (as the host does).
      if (!mem().writeU32(u32(tokenPtr), 0)) return WasmResult.InvalidMemoryAccess;
      const { result, token } = host.httpCall(
        cluster,
        deserializeHeaderPairs(headers),
        body,
        deserializeHeaderPairs(trailers),
        // The host reads the timeout as a signed int: values >= 2^31 are negative, hence BadArgument.
        i32(timeoutMs),
      );
      mem().writeU32(u32(tokenPtr), token);
      return result;
    },
    proxy_grpc_call() {
      host.unimplemented('env.proxy_grpc_call');
      return WasmResult.Unimplemented;
    },
    proxy_grpc_stream() {
      host.unimplemented('env.proxy_grpc_stream');
      return WasmResult.Unimplemented;
    },
    proxy_grpc_cancel() {
      return WasmResult.NotFound;
    },
    proxy_grpc_close() {
      return WasmResult.NotFound;
    },
    proxy_grpc_send() {
      return WasmResult.NotFound;
    },
    proxy_define_metric(metricType, namePtr, nameSize, idPtr) {
      if (u32(metricType) > METRIC_TYPE_MAX) return WasmResult.BadArgument;
      const name = str(namePtr, nameSize);
      if (name === undefined) return WasmResult.InvalidMemoryAccess;
      const { result, id } = host.defineMetric(u32(metricType), name);
      if (result !== WasmResult.Ok || id === undefined) return result;
      return mem().writeU32(u32(idPtr), id) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_increment_metric(id, offset) {
      return host.incrementMetric(u32(id), BigInt.asIntN(64, big(offset)));
    },
    proxy_record_metric(id, value) {
      return host.recordMetric(u32(id), BigInt.asUintN(64, big(value)));
    },
    proxy_get_metric(id, resultPtr) {
      const { result, value } = host.getMetric(u32(id));
      if (result !== WasmResult.Ok || value === undefined) return result;
      return mem().writeU64(u32(resultPtr), value) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_set_effective_context(contextId) {
      return host.setEffectiveContext(u32(contextId));
    },
    proxy_done() {
      return host.done();
    },
    proxy_call_foreign_function(namePtr, nameSize) {
      // No foreign functions are registered in the emulator (cpp-host answers NotFound for unknown ones).
      return str(namePtr, nameSize) === undefined ? WasmResult.InvalidMemoryAccess : WasmResult.NotFound;
    },
  };
}

function wasiFunctions(host: HostBackend): Record<string, HostFunction> {
  const mem = () => host.memory();
  return {
    proc_exit(code) {
      host.log(LOG_ERROR, `wasi proc_exit(${u32(code)})`);
      throw guestExit(u32(code));
    },
    fd_write(fd, iovs, iovsLen, nwrittenPtr) {
      const level = u32(fd) === STDOUT_FD ? LOG_INFO : u32(fd) === STDERR_FD ? LOG_ERROR : undefined;
      if (level === undefined) return WASI_EBADF;
      let text = '';
      for (let i = 0; i < u32(iovsLen); i++) {
        const iov = mem().read(u32(iovs) + i * 8, 8);
        if (iov === undefined) return WASI_EFAULT;
        const view = new DataView(iov.buffer);
        const chunk = mem().readUtf8(view.getUint32(0, true), view.getUint32(4, true));
        if (chunk === undefined) return WASI_EFAULT;
        text += chunk;
      }
      if (text.length > 0) host.log(level, text.endsWith('\n') ? text.slice(0, -1) : text);
      return mem().writeU32(u32(nwrittenPtr), Buffer.byteLength(text)) ? WASI_ESUCCESS : WASI_EFAULT;
    },
    fd_read() {
      return WASI_ENOSYS;
    },
    fd_seek() {
      return WASI_ESUCCESS;
    },
    fd_close() {
      return WASI_ESUCCESS;
    },
    fd_fdstat_get(fd, statPtr) {
      if (u32(fd) !== STDOUT_FD && u32(fd) !== STDERR_FD) return WASI_EBADF;
      const stat = new Uint8Array(FDSTAT_BYTES);
      new DataView(stat.buffer).setBigUint64(8, FDSTAT_RIGHTS_FD_WRITE, true);
      return mem().writeBytes(u32(statPtr), stat) ? WASI_ESUCCESS : WASI_EFAULT;
    },
    environ_get() {
      return WASI_ESUCCESS;
    },
    environ_sizes_get(countPtr, sizePtr) {
      return mem().writeU32(u32(countPtr), 0) && mem().writeU32(u32(sizePtr), 0)
        ? WASI_ESUCCESS
        : WASI_EFAULT;
    },
    args_get() {
      return WASI_ESUCCESS;
    },
    args_sizes_get(countPtr, sizePtr) {
      return mem().writeU32(u32(countPtr), 0) && mem().writeU32(u32(sizePtr), 0)
        ? WASI_ESUCCESS
        : WASI_EFAULT;
    },
    clock_time_get(clockId, _precision, resultPtr) {
      if (u32(clockId) !== WASI_CLOCK_REALTIME) return WASI_ENOTSUP;
      return mem().writeU64(u32(resultPtr), host.nowNs()) ? WASI_ESUCCESS : WASI_EFAULT;
    },
    random_get(bufPtr, bufLen) {
      const random = randomFillSync(new Uint8Array(u32(bufLen)));
      return mem().writeBytes(u32(bufPtr), random) ? WASI_ESUCCESS : WASI_EFAULT;
    },
  };
}
