/**
 * What the ABI layer (host-imports.ts) needs from the emulated host. The
 * ProxyWasmVm implements it; the split keeps pointer marshalling apart from
 * host semantics, so each can grow on its own.
 */
import type { WasmResultCode } from './abi.js';
import type { GuestClock } from './guest-clock.js';
import type { HeaderMap } from './header-map.js';
import type { HeaderPairs } from './header-pairs.js';
import type { WasmMemory } from './wasm-memory.js';

/** A buffer a host call may read (and, for HTTP bodies, modify). */
export interface BufferAccess {
  bytes(): Uint8Array;
  /** Envoy's Buffer::copyFrom rules; undefined for immutable buffers. */
  set?(start: number, length: number, data: Uint8Array): WasmResultCode;
}

export interface LocalReplyRequest {
  status: number;
  details: string;
  body: Uint8Array;
  headers: HeaderPairs;
  grpcStatus: number;
}

export interface HostBackend {
  /** When set, host functions are timed as host time (excluded from guest time). */
  readonly guestClock?: GuestClock | undefined;
  memory(): WasmMemory;
  log(level: number, message: string): void;
  logLevel(): number;
  nowNs(): bigint;
  setTickPeriod(periodMs: number): WasmResultCode;
  getStatus(): { code: number; message: string };
  getProperty(path: string): Uint8Array | undefined;
  setProperty(path: string, value: Uint8Array): WasmResultCode;
  continueStream(streamType: number): WasmResultCode;
  closeStream(streamType: number): WasmResultCode;
  sendLocalResponse(reply: LocalReplyRequest): WasmResultCode;
  getSharedData(key: string): { value: Uint8Array; cas: number } | undefined;
  setSharedData(key: string, value: Uint8Array, cas: number): WasmResultCode;
  registerSharedQueue(name: string): number;
  resolveSharedQueue(vmId: string, name: string): number | undefined;
  enqueueSharedQueue(token: number, data: Uint8Array): WasmResultCode;
  dequeueSharedQueue(token: number): { result: WasmResultCode; data?: Uint8Array };
  /** The map of this type in the calling context; undefined when not available (BadArgument). */
  headerMap(mapType: number, mutable: boolean): HeaderMap | undefined;
  /** The buffer of this type in the calling context; undefined when there is none (NotFound). */
  buffer(bufferType: number): BufferAccess | undefined;
  httpCall(
    cluster: string,
    headers: HeaderPairs,
    body: Uint8Array,
    trailers: HeaderPairs,
    timeoutMs: number,
  ): { result: WasmResultCode; token: number };
  defineMetric(metricType: number, name: string): { result: WasmResultCode; id?: number };
  incrementMetric(id: number, offset: bigint): WasmResultCode;
  recordMetric(id: number, value: bigint): WasmResultCode;
  getMetric(id: number): { result: WasmResultCode; value?: bigint };
  setEffectiveContext(contextId: number): WasmResultCode;
  done(): WasmResultCode;
  /** An import the emulator does not implement was called (answered Unimplemented). */
  unimplemented(name: string): void;
  /** A bug in the emulator surfaced in a host call (answered InternalFailure). */
  hostError(name: string, error: unknown): void;
}
