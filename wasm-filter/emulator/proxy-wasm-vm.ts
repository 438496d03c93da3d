/**
 * A proxy-wasm (ABI 0.2.x) host emulator: loads any proxy-wasm module with
 * the WebAssembly API and drives it the way Envoy (proxy-wasm-cpp-host) does,
 * one VM per Envoy worker. Tests drive it step by step; the local data plane
 * drives it from real HTTP traffic. Production runs the same .wasm in Envoy.
 *
 * Envoy behaviour reproduced (and relied on by the tests):
 *   - one root context (id 1) per plugin; stream context ids follow;
 *   - start(): proxy_on_context_create(root), proxy_on_vm_start, proxy_on_configure;
 *     the plugin configuration buffer is readable only during configure;
 *   - host calls act on the effective context (proxy_set_effective_context),
 *     reset to none at the start of every call into the VM;
 *   - proxy_http_call belongs to the ROOT context: the callback
 *     proxy_on_http_call_response is delivered to the root context id, and the
 *     response headers/body are readable from any context during it; a
 *     timeout or connection failure calls back with the 504 / 503 reply
 *     Envoy's router synthesises (or, with httpCallFailures: 'reset', with
 *     headers = 0, as Envoy does when the call's stream is reset);
 *     dispatch needs :method, :path, :authority and a known cluster, else BadArgument;
 *   - proxy_send_local_response and proxy_continue_stream take effect after
 *     the VM call returns; after a local reply the hook's status is ignored;
 *   - a trap fails the VM: the stream in which it happened gets 503
 *     wasm_fail_stream, later streams 503 (or pass, with failOpen).
 *     Emulator choice: other paused streams are failed at once too (Envoy
 *     would leave them to the route timeout).
 */
import {
  BufferType,
  HeaderMapType,
  LOG_LEVELS,
  type LogLevelName,
  SUPPORTED_ABI_VERSIONS,
  WasmResult,
  type WasmResultCode,
} from './abi.js';
import { GuestClock } from './guest-clock.js';
import { HeaderMap } from './header-map.js';
import type { HeaderPairs } from './header-pairs.js';
import type { BufferAccess, HostBackend, LocalReplyRequest } from './host-backend.js';
import { createHostImports } from './host-imports.js';
import { HttpCallDispatcher, type HttpCallOutcome, type HttpCallRecord } from './http-call-dispatcher.js';
import type { ClusterTarget, HttpCallResponse } from './http-cluster-client.js';
import { HttpStream, type StreamHost } from './http-stream.js';
import { MetricsRegistry } from './metrics-registry.js';
import { SharedDataStore } from './shared-data-store.js';
import { SharedQueueRegistry } from './shared-queue-registry.js';
import { WasmMemory } from './wasm-memory.js';

/** Envoy's default per_connection_buffer_limit_bytes. */
export const DEFAULT_BUFFER_LIMIT_BYTES = 1024 * 1024;
/** Collected log entries kept per VM; older ones are dropped (a long-running data plane stays bounded). */
export const MAX_COLLECTED_LOGS = 10_000;
const NANOS_PER_MS = 1_000_000n;
/** How timed-out or failed HTTP calls reach the module (see ProxyWasmVmOptions.httpCallFailures). */
export type HttpCallFailureMode = 'reset' | 'envoy-local-reply';
export const DEFAULT_HTTP_CALL_FAILURES: HttpCallFailureMode = 'envoy-local-reply';
/** Envoy's AsyncClient answers for a timed-out / failed call when failures are delivered as responses. */
const ENVOY_TIMEOUT_REPLY: HttpCallResponse = { status: 504, body: 'upstream request timeout' };
const ENVOY_RESET_REPLY: HttpCallResponse = {
  status: 503,
  body: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
};
/** Results assumed for hooks a module does not export (cpp-host treats them as "do nothing, succeed"). */
const MISSING_HOOK_RESULTS: Record<string, number> = {
  proxy_on_vm_start: 1,
  proxy_on_configure: 1,
  proxy_on_done: 1,
};

export interface ProxyWasmVmOptions {
  /** Shared data and queues are scoped by VM id (Envoy's vm_config.vm_id). */
  vmId?: string;
  /** plugin_root_id: selects the root context factory in the module. */
  rootId?: string;
  /** plugin_name property; defaults to rootId. */
  pluginName?: string;
  /** Plugin configuration bytes; an object is JSON-encoded. */
  pluginConfig?: string | Uint8Array | object;
  vmConfig?: string | Uint8Array;
  /** Entries below this level are neither collected nor passed to onLog. Default info. */
  logLevel?: LogLevelName;
  onLog?: (entry: LogEntry) => void;
  /** Clusters proxy_http_call may target: an in-process handler or a host:port reached over HTTP. */
  clusters?: Record<string, ClusterTarget>;
  /**
   * How a timed-out or failed call is delivered. 'envoy-local-reply'
   * (default, what Envoy does: its async client runs the router, which answers
   * a timeout with a 504 and a connection failure with a 503, delivered as an
   * ordinary response) or 'reset' (headers = 0 and proxy_get_status
   * BrokenConnection: Envoy's onHttpCallFailure path, taken when the call's
   * stream is reset; useful for failure injection).
   */
  httpCallFailures?: HttpCallFailureMode;
  /** Measure the time spent executing guest code (see guestTime); off by default (it costs a clock read per call). */
  measureGuestTime?: boolean;
  /** Clock in milliseconds since the epoch (default: the real clock). Tests pass a fake one. */
  now?: () => number;
  sharedData?: SharedDataStore;
  sharedQueues?: SharedQueueRegistry;
  metrics?: MetricsRegistry;
  bufferLimitBytes?: number;
  /** When the plugin has failed: pass requests untouched (true) or answer 503 (false, default). */
  failOpen?: boolean;
  /** Call proxy_on_tick on a real timer with the period the module set (the data plane does). */
  autoTick?: boolean;
  /** Extra properties by dotted path (e.g. "node.id"), readable with proxy_get_property. */
  properties?: Record<string, string | Uint8Array>;
}

export interface LogEntry {
  level: LogLevelName;
  contextId: number;
  message: string;
}

export interface TrapRecord {
  hook: string;
  contextId: number;
  message: string;
  /** The last critical log line of the call (the SDK logs the abort reason there). */
  abortMessage?: string;
  /** JS stack, with wasm function names when the module keeps a name section (asc --debug). */
  stack?: string;
}

export interface HostErrorRecord {
  hostCall: string;
  message: string;
}

interface CallResponse {
  headers: HeaderMap;
  body: Uint8Array;
  trailers: HeaderMap;
}

type WasmExports = Record<string, unknown> & { memory?: WebAssembly.Memory };

export class ProxyWasmVm implements HostBackend, StreamHost {
  readonly vmId: string;
  readonly rootId: string;
  readonly logs: LogEntry[] = [];
  readonly traps: TrapRecord[] = [];
  readonly hostErrors: HostErrorRecord[] = [];
  /** Every proxy_http_call the module dispatched, with its fate. */
  readonly httpCalls: HttpCallRecord[];
  /** Imports the module called that the emulator does not implement. */
  readonly unimplementedCalls = new Set<string>();
  readonly metrics: MetricsRegistry;
  readonly sharedData: SharedDataStore;
  readonly sharedQueues: SharedQueueRegistry;
  readonly bufferLimitBytes: number;
  readonly failOpen: boolean;
  readonly httpCallFailures: HttpCallFailureMode;
  /** Time spent executing guest code, when measureGuestTime is on. */
  readonly guestClock: GuestClock | undefined;

  private readonly options: ProxyWasmVmOptions;
  private readonly logLevelValue: number;
  private readonly pluginConfig: Uint8Array;
  private readonly vmConfig: Uint8Array;
  private readonly calls: HttpCallDispatcher;
  private readonly streams = new Map<number, HttpStream>();
  private readonly deferred: Array<() => void> = [];
  private exports: WasmExports = {};
  private wasmMemory: WasmMemory | undefined;
  private rootContextId = 0;
  private nextContextId = 1;
  private currentContextId = 0;
  private effectiveContextId = 0;
  private callDepth = 0;
  private lastCriticalLog: string | undefined;
  private rootStatus = { code: 0, message: '' };
  private callResponse: CallResponse | undefined;
  private configuring = false;
  private startCalled = false;
  private configureFailed = false;
  private trapped = false;
  private closed = false;
  private tickPeriod = 0;
  private tickTimer: NodeJS.Timeout | undefined;

  private constructor(options: ProxyWasmVmOptions) {
    this.options = options;
    this.vmId = options.vmId ?? '';
    this.rootId = options.rootId ?? '';
    this.logLevelValue = LOG_LEVELS.indexOf(options.logLevel ?? 'info');
    this.pluginConfig = toBytes(
      typeof options.pluginConfig === 'object' && !(options.pluginConfig instanceof Uint8Array)
        ? JSON.stringify(options.pluginConfig)
        : options.pluginConfig,
    );
    this.vmConfig = toBytes(options.vmConfig);
    this.metrics = options.metrics ?? new MetricsRegistry();
    this.sharedData = options.sharedData ?? new SharedDataStore();
    this.sharedQueues = options.sharedQueues ?? new SharedQueueRegistry();
    this.bufferLimitBytes = options.bufferLimitBytes ?? DEFAULT_BUFFER_LIMIT_BYTES;
    this.failOpen = options.failOpen ?? false;
    this.httpCallFailures = options.httpCallFailures ?? DEFAULT_HTTP_CALL_FAILURES;
    this.guestClock = options.measureGuestTime ? new GuestClock() : undefined;
    this.calls = new HttpCallDispatcher(options.clusters ?? {}, (token, outcome) => {
      if (!this.failed && !this.closed) this.deliverCallback(token, outcome);
    });
    this.httpCalls = this.calls.records;
  }

  /** Compiles and instantiates a proxy-wasm module. Throws when it is not one. */
  static async load(
    wasm: Uint8Array | ArrayBuffer | WebAssembly.Module,
    options: ProxyWasmVmOptions = {},
  ): Promise<ProxyWasmVm> {
    const module = wasm instanceof WebAssembly.Module ? wasm : await WebAssembly.compile(wasm);
    const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    if (!SUPPORTED_ABI_VERSIONS.some((v) => exported.has(v))) {
      throw new Error(`not a proxy-wasm 0.2 module: exports none of ${SUPPORTED_ABI_VERSIONS.join(', ')}`);
    }
    const vm = new ProxyWasmVm(options);
    const instance = await WebAssembly.instantiate(module, createHostImports(module, vm));
    vm.bind(instance);
    return vm;
  }

  private bind(instance: WebAssembly.Instance): void {
    this.exports = instance.exports as WasmExports;
    const memory = this.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new Error('the module exports no memory');
    const allocate = (this.exports.malloc ?? this.exports.proxy_on_memory_allocate) as
      | ((size: number) => number)
      | undefined;
    if (typeof allocate !== 'function')
      throw new Error('the module exports neither malloc nor proxy_on_memory_allocate');
    const clock = this.guestClock;
    this.wasmMemory = new WasmMemory(
      memory,
      clock === undefined
        ? (size) => allocate(size)
        : (size) => clock.timeGuest('malloc', () => allocate(size)),
    );
    // WASI reactors expect _initialize before anything else (cpp-host does the same).
    for (const init of ['_initialize', '_start']) {
      if (typeof this.exports[init] === 'function') {
        this.callIn(0, init, []);
        break;
      }
    }
  }

  /**
   * Creates the root context, starts the VM and configures the plugin.
   * Returns proxy_on_configure's verdict (false: the plugin refused its
   * configuration, or the VM trapped — see logs and traps).
   */
  start(): boolean {
    if (this.startCalled) throw new Error('start() called twice');
    this.startCalled = true;
    this.rootContextId = this.nextContextId++;
    if (this.callIn(this.rootContextId, 'proxy_on_context_create', [this.rootContextId, 0]) === undefined) {
      return false;
    }
    const vmStarted = this.callIn(this.rootContextId, 'proxy_on_vm_start', [
      this.rootContextId,
      this.vmConfig.length,
    ]);
    if (vmStarted === undefined || vmStarted === 0) {
      this.configureFailed = true;
      this.log(4, 'emulator: proxy_on_vm_start failed');
      return false;
    }
    this.configuring = true;
    const configured = this.callIn(this.rootContextId, 'proxy_on_configure', [
      this.rootContextId,
      this.pluginConfig.length,
    ]);
    this.configuring = false;
    if (configured === undefined || configured === 0) {
      this.configureFailed = true;
      this.log(4, 'emulator: proxy_on_configure failed: the plugin refused its configuration');
      return false;
    }
    this.armTick();
    return true;
  }

  /** A new HTTP stream (one request/response). Drive it with its requestHeaders/requestBody/... methods. */
  newHttpStream(options: { properties?: Record<string, string | Uint8Array> } = {}): HttpStream {
    if (!this.startCalled) throw new Error('call start() before creating streams');
    if (this.closed) throw new Error('the VM is closed');
    const stream = new HttpStream(this.nextContextId++, this, options.properties);
    this.streams.set(stream.id, stream);
    return stream;
  }

  /**
   * Calls any export with the root context as the current context, as the
   * host does for its own callbacks — for modules with extra entry points and
   * for ABI-level tests. Returns the u32 result, or undefined on trap.
   */
  callRootExport(name: string, args: Array<number | bigint> = []): number | undefined {
    return this.callIn(this.rootContextId, name, args);
  }

  /** Guest memory, for tests that place ABI arguments themselves. */
  get guestMemory(): WasmMemory {
    return this.memory();
  }

  /** Calls proxy_on_tick once, if the module asked for ticks. Returns whether it did. */
  tick(): boolean {
    if (this.failed || this.closed || this.tickPeriod === 0) return false;
    this.callIn(this.rootContextId, 'proxy_on_tick', [this.rootContextId]);
    return true;
  }

  /** The tick period the module set (0: none). */
  get tickPeriodMs(): number {
    return this.tickPeriod;
  }

  /** True when the plugin cannot serve: it refused its configuration or trapped. */
  get failed(): boolean {
    return this.trapped || this.configureFailed;
  }

  get pendingHttpCallCount(): number {
    return this.calls.pendingCount;
  }

  /** Resolves once no HTTP call is pending (every callback delivered, timed out or dropped). */
  idle(): Promise<void> {
    return this.calls.idle();
  }

  /** Log entries at or above `level`. */
  logsAtOrAbove(level: LogLevelName): LogEntry[] {
    const min = LOG_LEVELS.indexOf(level);
    return this.logs.filter((e) => LOG_LEVELS.indexOf(e.level) >= min);
  }

  /** Stops ticking, cancels pending calls (no callbacks) and tells the root context it is done. */
  close(): void {
    if (this.closed) return;
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    this.calls.close();
    if (this.startCalled && this.rootContextId !== 0 && !this.failed) {
      this.callIn(this.rootContextId, 'proxy_on_done', [this.rootContextId]);
      this.callIn(this.rootContextId, 'proxy_on_delete', [this.rootContextId]);
    }
    this.closed = true;
  }

  // ---- StreamHost ----

  createStreamContext(stream: HttpStream): boolean {
    return this.callIn(stream.id, 'proxy_on_context_create', [stream.id, this.rootContextId]) !== undefined;
  }

  callStreamHook(stream: HttpStream, hook: string, args: number[]): number | undefined {
    return this.callIn(stream.id, hook, args);
  }

  releaseStream(stream: HttpStream): void {
    this.streams.delete(stream.id);
  }

  // ---- Calls into the VM ----

  /**
   * Calls an export with `contextId` as the current context. Returns its u32
   * result, or undefined when the VM has failed or trapped during the call.
   * Deferred host actions (local replies, continues) run when the outermost
   * call returns, as in Envoy.
   */
  private callIn(contextId: number, hook: string, args: Array<number | bigint>): number | undefined {
    if (this.trapped) return undefined;
    const fn = this.exports[hook];
    if (typeof fn !== 'function') return MISSING_HOOK_RESULTS[hook] ?? 0;
    const saved = {
      current: this.currentContextId,
      effective: this.effectiveContextId,
      critical: this.lastCriticalLog,
    };
    this.currentContextId = contextId;
    this.effectiveContextId = 0;
    this.lastCriticalLog = undefined;
    this.callDepth++;
    let result: unknown;
    let trap: { error: unknown; effective: number } | undefined;
    try {
      const call = () => (fn as (...a: Array<number | bigint>) => unknown)(...args);
      result = this.guestClock === undefined ? call() : this.guestClock.timeGuest(hook, call);
    } catch (error) {
      trap = { error, effective: this.effectiveContextId };
    }
    const abortMessage = this.lastCriticalLog;
    this.callDepth--;
    this.currentContextId = saved.current;
    this.effectiveContextId = saved.effective;
    this.lastCriticalLog = saved.critical;
    if (trap !== undefined) this.onTrap(hook, contextId, trap.effective, trap.error, abortMessage);
    if (this.callDepth === 0) this.runDeferred();
    if (trap !== undefined) return undefined;
    return typeof result === 'number' ? result >>> 0 : 0;
  }

  private onTrap(
    hook: string,
    contextId: number,
    effective: number,
    error: unknown,
    abortMessage?: string,
  ): void {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const record: TrapRecord = { hook, contextId, message };
    if (abortMessage !== undefined) record.abortMessage = abortMessage;
    if (error instanceof Error && error.stack !== undefined) record.stack = error.stack;
    this.traps.push(record);
    this.trapped = true;
    this.log(5, `emulator: wasm trap in ${hook} (context ${contextId}): ${message}`);
    // The stream the failure happened in answers 503; so do streams waiting on a VM that is gone.
    const culprit = this.streams.get(effective) ?? this.streams.get(contextId);
    culprit?.failStream(message);
    for (const stream of this.streams.values()) {
      if (!stream.isSettled && stream.state.kind === 'paused') stream.failStream('VM failed');
    }
  }

  private runDeferred(): void {
    for (let action = this.deferred.shift(); action !== undefined; action = this.deferred.shift()) action();
  }

  // ---- Ticks ----

  private armTick(): void {
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    if (!this.options.autoTick || this.tickPeriod === 0 || this.closed || !this.startCalled) return;
    this.tickTimer = setInterval(() => this.tick(), this.tickPeriod);
    this.tickTimer.unref();
  }

  // ---- HTTP calls ----

  private deliverCallback(token: number, outcome: HttpCallOutcome): void {
    let response = outcome.kind === 'response' ? outcome.response : undefined;
    if (response === undefined && this.httpCallFailures === 'envoy-local-reply') {
      response = outcome.kind === 'timeout' ? ENVOY_TIMEOUT_REPLY : ENVOY_RESET_REPLY;
    }
    const root = this.rootContextId;
    if (response !== undefined) {
      const headers = new HeaderMap([
        [':status', String(response.status)],
        ...headerPairsOf(response.headers),
      ]);
      const body = toBytes(response.body);
      if (body.length > 0 && headers.get('content-length') === undefined) {
        headers.add('content-length', String(body.length));
      }
      const trailers = new HeaderMap(response.trailers ?? []);
      this.callResponse = { headers, body, trailers };
      this.callIn(root, 'proxy_on_http_call_response', [
        root,
        token,
        headers.size,
        body.length,
        trailers.size,
      ]);
      this.callResponse = undefined;
      return;
    }
    this.rootStatus = {
      code: WasmResult.BrokenConnection,
      message: outcome.kind === 'timeout' ? 'timeout' : 'reset',
    };
    this.callIn(root, 'proxy_on_http_call_response', [root, token, 0, 0, 0]);
    this.rootStatus = { code: 0, message: '' };
  }

  // ---- HostBackend ----

  memory(): WasmMemory {
    if (this.wasmMemory === undefined)
      throw new Error('guest memory is not available before instantiation ends');
    return this.wasmMemory;
  }

  log(level: number, message: string): void {
    const name = LOG_LEVELS[level] ?? 'critical';
    if (level === 5) this.lastCriticalLog = message;
    if (level < this.logLevelValue) return;
    const entry: LogEntry = { level: name, contextId: this.hostContextId(), message };
    this.logs.push(entry);
    if (this.logs.length > MAX_COLLECTED_LOGS) this.logs.splice(0, this.logs.length - MAX_COLLECTED_LOGS);
    this.options.onLog?.(entry);
  }

  logLevel(): number {
    return this.logLevelValue;
  }

  nowNs(): bigint {
    const ms = this.options.now?.() ?? performance.timeOrigin + performance.now();
    const whole = Math.floor(ms);
    return BigInt(whole) * NANOS_PER_MS + BigInt(Math.floor((ms - whole) * 1e6));
  }

  setTickPeriod(periodMs: number): WasmResultCode {
    this.tickPeriod = periodMs;
    this.armTick();
    return WasmResult.Ok;
  }

  getStatus(): { code: number; message: string } {
    // Status lives on the context that received the callback (the root), read through the effective context.
    return this.hostContextId() === this.rootContextId ? this.rootStatus : { code: 0, message: '' };
  }

  getProperty(path: string): Uint8Array | undefined {
    const extra = this.options.properties?.[path];
    if (extra !== undefined) return toBytes(extra);
    if (path === 'plugin_root_id') return toBytes(this.rootId);
    if (path === 'plugin_name') return toBytes(this.options.pluginName ?? this.rootId);
    if (path === 'plugin_vm_id') return toBytes(this.vmId);
    const stream = this.streamForCall();
    if (stream === undefined) return undefined;
    const own = stream.properties.get(path);
    if (own !== undefined) return own;
    return requestProperty(path, new HeaderMap(stream.requestHeaderPairs()));
  }

  setProperty(path: string, value: Uint8Array): WasmResultCode {
    const stream = this.streamForCall();
    if (stream === undefined) return WasmResult.NotFound;
    stream.properties.set(path, value);
    return WasmResult.Ok;
  }

  continueStream(streamType: number): WasmResultCode {
    if (streamType > 1) return WasmResult.BadArgument;
    const stream = this.streamForCall();
    if (stream !== undefined) this.deferred.push(() => stream.applyContinue(streamType));
    return WasmResult.Ok;
  }

  closeStream(streamType: number): WasmResultCode {
    const stream = this.streamForCall();
    if (stream !== undefined) this.deferred.push(() => stream.applyClose(streamType));
    return WasmResult.Ok;
  }

  sendLocalResponse(reply: LocalReplyRequest): WasmResultCode {
    const stream = this.streamForCall();
    if (stream !== undefined) {
      stream.localReplyRequests++;
      this.deferred.push(() => stream.applyLocalReply(reply));
    }
    return WasmResult.Ok;
  }

  getSharedData(key: string): { value: Uint8Array; cas: number } | undefined {
    return this.sharedData.get(this.vmId, key);
  }

  setSharedData(key: string, value: Uint8Array, cas: number): WasmResultCode {
    return this.sharedData.set(this.vmId, key, value, cas);
  }

  registerSharedQueue(name: string): number {
    return this.sharedQueues.register(this.vmId, name, (token) => {
      setImmediate(() => {
        if (!this.failed && !this.closed) {
          this.callIn(this.rootContextId, 'proxy_on_queue_ready', [this.rootContextId, token]);
        }
      });
    });
  }

  resolveSharedQueue(vmId: string, name: string): number | undefined {
    return this.sharedQueues.resolve(vmId, name);
  }

  enqueueSharedQueue(token: number, data: Uint8Array): WasmResultCode {
    return this.sharedQueues.enqueue(token, data);
  }

  dequeueSharedQueue(token: number): { result: WasmResultCode; data?: Uint8Array } {
    return this.sharedQueues.dequeue(token);
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
    return this.streamForCall()?.headerMapFor(mapType, mutable);
  }

  buffer(bufferType: number): BufferAccess | undefined {
    const empty: BufferAccess = { bytes: () => new Uint8Array(0) };
    switch (bufferType) {
      case BufferType.HttpRequestBody:
        return this.streamForCall()?.bodyBufferFor('request') ?? empty;
      case BufferType.HttpResponseBody:
        return this.streamForCall()?.bodyBufferFor('response') ?? empty;
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
    if (this.rootContextId === 0) return { result: WasmResult.BadArgument, token: 0 };
    return this.calls.dispatch(cluster, headers, body, trailers, timeoutMs);
  }

  defineMetric(metricType: number, name: string): { result: WasmResultCode; id?: number } {
    return this.metrics.define(metricType, name);
  }

  incrementMetric(id: number, offset: bigint): WasmResultCode {
    return this.metrics.increment(id, offset);
  }

  recordMetric(id: number, value: bigint): WasmResultCode {
    return this.metrics.record(id, value);
  }

  getMetric(id: number): { result: WasmResultCode; value?: bigint } {
    return this.metrics.read(id);
  }

  setEffectiveContext(contextId: number): WasmResultCode {
    if (contextId !== this.rootContextId && !this.streams.has(contextId)) return WasmResult.BadArgument;
    this.effectiveContextId = contextId;
    return WasmResult.Ok;
  }

  done(): WasmResultCode {
    return WasmResult.Ok;
  }

  unimplemented(name: string): void {
    if (this.unimplementedCalls.has(name)) return;
    this.unimplementedCalls.add(name);
    this.log(3, `emulator: ${name} is not implemented (answered Unimplemented)`);
  }

  hostError(name: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.hostErrors.push({ hostCall: name, message });
    this.log(4, `emulator: host call ${name} failed: ${message}`);
  }

  // ---- Helpers ----

  private hostContextId(): number {
    const effective = this.effectiveContextId;
    if (effective !== 0 && (effective === this.rootContextId || this.streams.has(effective)))
      return effective;
    return this.currentContextId;
  }

  private streamForCall(): HttpStream | undefined {
    return this.streams.get(this.hostContextId());
  }
}

function toBytes(value: string | Uint8Array | undefined): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function headerPairsOf(headers: HeaderPairs | Record<string, string> | undefined): HeaderPairs {
  if (headers === undefined) return [];
  return Array.isArray(headers) ? headers : Object.entries(headers);
}

/** Envoy's request.* attributes the emulator knows (strings only). */
function requestProperty(path: string, headers: HeaderMap): Uint8Array | undefined {
  const fullPath = headers.get(':path');
  const byPath: Record<string, string | undefined> = {
    'request.path': fullPath,
    'request.url_path': fullPath?.split('?')[0],
    'request.host': headers.get(':authority'),
    'request.method': headers.get(':method'),
    'request.scheme': headers.get(':scheme'),
    'request.id': headers.get('x-request-id'),
    'request.protocol': 'HTTP/1.1',
  };
  if (path in byPath) {
    const value = byPath[path];
    return value === undefined ? undefined : toBytes(value);
  }
  const prefix = 'request.headers.';
  if (path.startsWith(prefix)) {
    const value = headers.get(path.slice(prefix.length));
    return value === undefined ? undefined : toBytes(value);
  }
  return undefined;
}
