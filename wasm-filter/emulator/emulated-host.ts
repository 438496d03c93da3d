/**
 * The host side of one VM: what each proxy-wasm host function does, with
 * Envoy's semantics (host-imports.ts turns guest pointers into the calls
 * below). Host calls act on the effective context; stream actions (continue,
 * close, local reply) are deferred until the outermost call into the VM
 * returns, as in Envoy; HTTP call responses are readable from any context
 * during the root's callback; the plugin configuration only while
 * configuring.
 */
import { AtpError } from '@mercato/platform/errors';
import { ERR } from '../errors.js';
import { BufferType, HeaderMapType, WasmResult, type WasmResultCode } from './abi.js';
import type { GuestClock } from './guest-clock.js';
import type { GuestContexts } from './guest-contexts.js';
import type { HeaderMap } from './header-map.js';
import type { HeaderPairs } from './header-pairs.js';
import type { BufferAccess, HostBackend, LocalReplyRequest } from './host-backend.js';
import type { HttpCallDispatcher } from './http-call-dispatcher.js';
import type { MetricsRegistry } from './metrics-registry.js';
import { requestProperty } from './request-properties.js';
import type { SharedDataStore } from './shared-data-store.js';
import type { SharedQueueRegistry } from './shared-queue-registry.js';
import type { VmLog } from './vm-log.js';
import { type HostErrorRecord, type ProxyWasmVmOptions, toBytes } from './vm-options.js';
import type { WasmMemory } from './wasm-memory.js';

const NANOS_PER_MS = 1_000_000n;
const LOG_WARN = 3;
const LOG_ERROR = 4;
const NO_STATUS = { code: 0, message: '' };

/** The response of an HTTP call while its callback runs. */
export interface CallResponse {
  headers: HeaderMap;
  body: Uint8Array;
  trailers: HeaderMap;
}

/** What the host shares with the VM that owns it. */
export interface EmulatedHostParts {
  options: ProxyWasmVmOptions;
  log: VmLog;
  contexts: GuestContexts;
  calls: HttpCallDispatcher;
  metrics: MetricsRegistry;
  sharedData: SharedDataStore;
  sharedQueues: SharedQueueRegistry;
  guestClock: GuestClock | undefined;
  /** The module set its tick period (proxy_set_tick_period_milliseconds). */
  onTickPeriod: (periodMs: number) => void;
  /** Data arrived on a queue this VM registered. */
  onQueueReady: (token: number) => void;
}

export class EmulatedHost implements HostBackend {
  readonly guestClock: GuestClock | undefined;
  /** Imports the module called that the emulator does not implement. */
  readonly unimplementedCalls = new Set<string>();
  readonly hostErrors: HostErrorRecord[] = [];
  readonly pluginConfig: Uint8Array;
  readonly vmConfig: Uint8Array;
  /** True during proxy_on_configure: the only time the plugin configuration is readable. */
  configuring = false;
  /** Set while proxy_on_http_call_response runs. */
  callResponse: CallResponse | undefined;
  /** proxy_get_status of the root context: a failed call's status while its callback runs. */
  rootStatus: { code: number; message: string } = NO_STATUS;

  private readonly parts: EmulatedHostParts;
  private readonly deferred: Array<() => void> = [];
  private wasmMemory: WasmMemory | undefined;

  constructor(parts: EmulatedHostParts) {
    this.parts = parts;
    this.guestClock = parts.guestClock;
    const config = parts.options.pluginConfig;
    this.pluginConfig = toBytes(
      typeof config === 'object' && !(config instanceof Uint8Array) ? JSON.stringify(config) : config,
    );
    this.vmConfig = toBytes(parts.options.vmConfig);
  }

  /** The instance's memory, once instantiated. */
  attachMemory(memory: WasmMemory): void {
    this.wasmMemory = memory;
  }

  /** Applies the stream actions the module asked for; the VM calls this when its outermost call returns. */
  runDeferred(): void {
    for (let action = this.deferred.shift(); action !== undefined; action = this.deferred.shift()) action();
  }

  memory(): WasmMemory {
    if (this.wasmMemory === undefined) {
      throw new AtpError(ERR.EMULATOR_MISUSE, 'guest memory is not available before instantiation ends');
    }
    return this.wasmMemory;
  }

  log(level: number, message: string): void {
    this.parts.log.write(level, this.parts.contexts.hostContextId(), message);
  }

  logLevel(): number {
    return this.parts.log.levelValue;
  }

  nowNs(): bigint {
    const ms = this.parts.options.now?.() ?? performance.timeOrigin + performance.now();
    const whole = Math.floor(ms);
    return BigInt(whole) * NANOS_PER_MS + BigInt(Math.floor((ms - whole) * 1e6));
  }

  setTickPeriod(periodMs: number): WasmResultCode {
    this.parts.onTickPeriod(periodMs);
    return WasmResult.Ok;
  }

  getStatus(): { code: number; message: string } {
    // Status lives on the context that received the callback (the root), read through the effective context.
    const contexts = this.parts.contexts;
    return contexts.hostContextId() === contexts.rootContextId ? this.rootStatus : NO_STATUS;
  }

  getProperty(path: string): Uint8Array | undefined {
    const options = this.parts.options;
    const extra = options.properties?.[path];
    if (extra !== undefined) return toBytes(extra);
    if (path === 'plugin_root_id') return toBytes(options.rootId ?? '');
    if (path === 'plugin_name') return toBytes(options.pluginName ?? options.rootId ?? '');
    if (path === 'plugin_vm_id') return toBytes(options.vmId ?? '');
    const stream = this.parts.contexts.streamForCall();
    if (stream === undefined) return undefined;
    const own = stream.properties.get(path);
    if (own !== undefined) return own;
    return requestProperty(path, stream.requestHeaderPairs());
  }

  setProperty(path: string, value: Uint8Array): WasmResultCode {
    const stream = this.parts.contexts.streamForCall();
    if (stream === undefined) return WasmResult.NotFound;
    stream.properties.set(path, value);
    return WasmResult.Ok;
  }

  continueStream(streamType: number): WasmResultCode {
    if (streamType > 1) return WasmResult.BadArgument;
    const stream = this.parts.contexts.streamForCall();
    if (stream !== undefined) this.deferred.push(() => stream.applyContinue(streamType));
    return WasmResult.Ok;
  }

  closeStream(streamType: number): WasmResultCode {
    const stream = this.parts.contexts.streamForCall();
    if (stream !== undefined) this.deferred.push(() => stream.applyClose(streamType));
    return WasmResult.Ok;
  }

  sendLocalResponse(reply: LocalReplyRequest): WasmResultCode {
    const stream = this.parts.contexts.streamForCall();
    if (stream !== undefined) {
      stream.localReplyRequests++;
      this.deferred.push(() => stream.applyLocalReply(reply));
    }
    return WasmResult.Ok;
  }

  getSharedData(key: string): { value: Uint8Array; cas: number } | undefined {
    return this.parts.sharedData.get(this.vmId, key);
  }

  setSharedData(key: string, value: Uint8Array, cas: number): WasmResultCode {
    return this.parts.sharedData.set(this.vmId, key, value, cas);
  }

  registerSharedQueue(name: string): number {
    return this.parts.sharedQueues.register(this.vmId, name, (token) => {
      setImmediate(() => this.parts.onQueueReady(token));
    });
  }

  resolveSharedQueue(vmId: string, name: string): number | undefined {
    return this.parts.sharedQueues.resolve(vmId, name);
  }

  enqueueSharedQueue(token: number, data: Uint8Array): WasmResultCode {
    return this.parts.sharedQueues.enqueue(token, data);
  }

  dequeueSharedQueue(token: number): { result: WasmResultCode; data?: Uint8Array } {
    return this.parts.sharedQueues.dequeue(token);
  }

  headerMap(mapType: number, mutable: boolean): HeaderMap | undefined {
    if (
      mapType === HeaderMapType.HttpCallResponseHeaders ||
      mapType === HeaderMapType.HttpCallResponseTrailers
    ) {
      // Immutable, and owned by the root context: readable from the effective stream during the callback.
      if (mutable || this.callResponse === undefined) return undefined;
      return mapType === HeaderMapType.HttpCallResponseHeaders
        ? this.callResponse.headers
        : this.callResponse.trailers;
    }
    if (mapType > HeaderMapType.ResponseTrailers) return undefined;
    return this.parts.contexts.streamForCall()?.headerMapFor(mapType, mutable);
  }

  buffer(bufferType: number): BufferAccess | undefined {
    const empty: BufferAccess = { bytes: () => new Uint8Array(0) };
    const stream = () => this.parts.contexts.streamForCall();
    switch (bufferType) {
      case BufferType.HttpRequestBody:
        return stream()?.bodyBufferFor('request') ?? empty;
      case BufferType.HttpResponseBody:
        return stream()?.bodyBufferFor('response') ?? empty;
      case BufferType.HttpCallResponseBody: {
        const body = this.callResponse?.body;
        return body === undefined ? undefined : { bytes: () => body };
      }
      case BufferType.VmConfiguration:
        return { bytes: () => this.vmConfig };
      case BufferType.PluginConfiguration:
        return this.configuring ? { bytes: () => this.pluginConfig } : undefined;
      default:
        return empty;
    }
  }

  httpCall(
    cluster: string,
    headers: HeaderPairs,
    body: Uint8Array,
    trailers: HeaderPairs,
    timeoutMs: number,
  ): { result: WasmResultCode; token: number } {
    // Calls belong to the root context (Envoy attaches them to the root of the calling context).
    if (this.parts.contexts.rootContextId === 0) return { result: WasmResult.BadArgument, token: 0 };
    return this.parts.calls.dispatch(cluster, headers, body, trailers, timeoutMs);
  }

  defineMetric(metricType: number, name: string): { result: WasmResultCode; id?: number } {
    return this.parts.metrics.define(metricType, name);
  }

  incrementMetric(id: number, offset: bigint): WasmResultCode {
    return this.parts.metrics.increment(id, offset);
  }

  recordMetric(id: number, value: bigint): WasmResultCode {
    return this.parts.metrics.record(id, value);
  }

  getMetric(id: number): { result: WasmResultCode; value?: bigint } {
    return this.parts.metrics.read(id);
  }

  setEffectiveContext(contextId: number): WasmResultCode {
    return this.parts.contexts.setEffective(contextId) ? WasmResult.Ok : WasmResult.BadArgument;
  }

  done(): WasmResultCode {
    return WasmResult.Ok;
  }

  unimplemented(name: string): void {
    if (this.unimplementedCalls.has(name)) return;
    this.unimplementedCalls.add(name);
    this.log(LOG_WARN, `emulator: ${name} is not implemented (answered Unimplemented)`);
  }

  hostError(name: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.hostErrors.push({ hostCall: name, message });
    this.log(LOG_ERROR, `emulator: host call ${name} failed: ${message}`);
  }

  private get vmId(): string {
    return this.parts.options.vmId ?? '';
  }
}
