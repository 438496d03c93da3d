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
 *     reset to none at the start of every call into the VM (guest-contexts.ts);
 *   - proxy_http_call belongs to the ROOT context: the callback
 *     proxy_on_http_call_response is delivered to the root context id, and the
 *     response headers/body are readable from any context during it; a
 *     timeout or connection failure calls back with the 504 / 503 reply
 *     Envoy's router synthesises (or, with httpCallFailures: 'reset', with
 *     headers = 0, as Envoy does when the call's stream is reset);
 *     dispatch needs :method, :path, :authority and a known cluster, else BadArgument;
 *   - proxy_send_local_response and proxy_continue_stream take effect after
 *     the VM call returns; after a local reply the hook's status is ignored
 *     (what each host function does: emulated-host.ts);
 *   - a trap fails the VM: the stream in which it happened gets 503
 *     wasm_fail_stream, later streams 503 (or pass, with failOpen).
 *     Emulator choice: other paused streams are failed at once too (Envoy
 *     would leave them to the route timeout).
 */
import { AtpError } from '@mercato/platform/errors';
import { ERR } from '../errors.js';
import { type LogLevelName, SUPPORTED_ABI_VERSIONS, WasmResult } from './abi.js';
import { EmulatedHost } from './emulated-host.js';
import { GuestClock } from './guest-clock.js';
import { GuestContexts } from './guest-contexts.js';
import { HeaderMap } from './header-map.js';
import type { HeaderPairs } from './header-pairs.js';
import { createHostImports } from './host-imports.js';
import { HttpCallDispatcher, type HttpCallOutcome, type HttpCallRecord } from './http-call-dispatcher.js';
import type { HttpCallResponse } from './http-cluster-client.js';
import { HttpStream, type StreamHost } from './http-stream.js';
import { MetricsRegistry } from './metrics-registry.js';
import { SharedDataStore } from './shared-data-store.js';
import { SharedQueueRegistry } from './shared-queue-registry.js';
import { LOG_CRITICAL, VmLog } from './vm-log.js';
import {
  DEFAULT_BUFFER_LIMIT_BYTES,
  DEFAULT_HTTP_CALL_FAILURES,
  type HostErrorRecord,
  type HttpCallFailureMode,
  type LogEntry,
  type ProxyWasmVmOptions,
  type TrapRecord,
  toBytes,
} from './vm-options.js';
import { WasmMemory } from './wasm-memory.js';

export {
  DEFAULT_BUFFER_LIMIT_BYTES,
  DEFAULT_HTTP_CALL_FAILURES,
  type HostErrorRecord,
  type HttpCallFailureMode,
  type LogEntry,
  MAX_COLLECTED_LOGS,
  type ProxyWasmVmOptions,
  type TrapRecord,
} from './vm-options.js';

const LOG_ERROR = 4;
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

type WasmExports = Record<string, unknown> & { memory?: WebAssembly.Memory };

export class ProxyWasmVm implements StreamHost {
  readonly vmId: string;
  readonly rootId: string;
  readonly logs: LogEntry[];
  readonly traps: TrapRecord[] = [];
  readonly hostErrors: HostErrorRecord[];
  /** Every proxy_http_call the module dispatched, with its fate. */
  readonly httpCalls: HttpCallRecord[];
  /** Imports the module called that the emulator does not implement. */
  readonly unimplementedCalls: Set<string>;
  readonly metrics: MetricsRegistry;
  readonly sharedData: SharedDataStore;
  readonly sharedQueues: SharedQueueRegistry;
  readonly bufferLimitBytes: number;
  readonly failOpen: boolean;
  readonly httpCallFailures: HttpCallFailureMode;
  /** Time spent executing guest code, when measureGuestTime is on. */
  readonly guestClock: GuestClock | undefined;

  private readonly options: ProxyWasmVmOptions;
  private readonly log: VmLog;
  private readonly contexts = new GuestContexts();
  private readonly host: EmulatedHost;
  private readonly calls: HttpCallDispatcher;
  private exports: WasmExports = {};
  private callDepth = 0;
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
    this.log = new VmLog(options.logLevel, options.onLog);
    this.logs = this.log.entries;
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
    this.host = new EmulatedHost({
      options,
      log: this.log,
      contexts: this.contexts,
      calls: this.calls,
      metrics: this.metrics,
      sharedData: this.sharedData,
      sharedQueues: this.sharedQueues,
      guestClock: this.guestClock,
      onTickPeriod: (periodMs) => {
        this.tickPeriod = periodMs;
        this.armTick();
      },
      onQueueReady: (token) => {
        if (this.failed || this.closed) return;
        const root = this.contexts.rootContextId;
        this.callIn(root, 'proxy_on_queue_ready', [root, token]);
      },
    });
    this.hostErrors = this.host.hostErrors;
    this.unimplementedCalls = this.host.unimplementedCalls;
  }

  /** Compiles and instantiates a proxy-wasm module. Throws when it is not one. */
  static async load(
    wasm: Uint8Array | ArrayBuffer | WebAssembly.Module,
    options: ProxyWasmVmOptions = {},
  ): Promise<ProxyWasmVm> {
    const module = wasm instanceof WebAssembly.Module ? wasm : await WebAssembly.compile(wasm);
    const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    if (!SUPPORTED_ABI_VERSIONS.some((v) => exported.has(v))) {
      throw new AtpError(
        ERR.NOT_PROXY_WASM,
        `not a proxy-wasm 0.2 module: exports none of ${SUPPORTED_ABI_VERSIONS.join(', ')}`,
      );
    }
    const vm = new ProxyWasmVm(options);
    const instance = await WebAssembly.instantiate(module, createHostImports(module, vm.host));
    vm.bind(instance);
    return vm;
  }

  private bind(instance: WebAssembly.Instance): void {
    this.exports = instance.exports as WasmExports;
    const memory = this.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) {
      throw new AtpError(ERR.NOT_PROXY_WASM, 'the module exports no memory');
    }
    const allocate = (this.exports.malloc ?? this.exports.proxy_on_memory_allocate) as
      | ((size: number) => number)
      | undefined;
    if (typeof allocate !== 'function') {
      throw new AtpError(
        ERR.NOT_PROXY_WASM,
        'the module exports neither malloc nor proxy_on_memory_allocate',
      );
    }
    const clock = this.guestClock;
    this.host.attachMemory(
      new WasmMemory(
        memory,
        clock === undefined
          ? (size) => allocate(size)
          : (size) => clock.timeGuest('malloc', () => allocate(size)),
      ),
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
    if (this.startCalled) throw new AtpError(ERR.EMULATOR_MISUSE, 'start() called twice');
    this.startCalled = true;
    const root = this.contexts.allocate();
    this.contexts.rootContextId = root;
    if (this.callIn(root, 'proxy_on_context_create', [root, 0]) === undefined) return false;
    const vmStarted = this.callIn(root, 'proxy_on_vm_start', [root, this.host.vmConfig.length]);
    if (vmStarted === undefined || vmStarted === 0) {
      this.configureFailed = true;
      this.host.log(LOG_ERROR, 'emulator: proxy_on_vm_start failed');
      return false;
    }
    this.host.configuring = true;
    const configured = this.callIn(root, 'proxy_on_configure', [root, this.host.pluginConfig.length]);
    this.host.configuring = false;
    if (configured === undefined || configured === 0) {
      this.configureFailed = true;
      this.host.log(LOG_ERROR, 'emulator: proxy_on_configure failed: the plugin refused its configuration');
      return false;
    }
    this.armTick();
    return true;
  }

  /** A new HTTP stream (one request/response). Drive it with its requestHeaders/requestBody/... methods. */
  newHttpStream(options: { properties?: Record<string, string | Uint8Array> } = {}): HttpStream {
    if (!this.startCalled) throw new AtpError(ERR.EMULATOR_MISUSE, 'call start() before creating streams');
    if (this.closed) throw new AtpError(ERR.EMULATOR_MISUSE, 'the VM is closed');
    const stream = new HttpStream(this.contexts.allocate(), this, options.properties);
    this.contexts.streams.set(stream.id, stream);
    return stream;
  }

  /**
   * Calls any export with the root context as the current context, as the
   * host does for its own callbacks — for modules with extra entry points and
   * for ABI-level tests. Returns the u32 result, or undefined on trap.
   */
  callRootExport(name: string, args: Array<number | bigint> = []): number | undefined {
    return this.callIn(this.contexts.rootContextId, name, args);
  }

  /** Guest memory, for tests that place ABI arguments themselves. */
  get guestMemory(): WasmMemory {
    return this.host.memory();
  }

  /** Calls proxy_on_tick once, if the module asked for ticks. Returns whether it did. */
  tick(): boolean {
    if (this.failed || this.closed || this.tickPeriod === 0) return false;
    const root = this.contexts.rootContextId;
    this.callIn(root, 'proxy_on_tick', [root]);
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
    return this.log.atOrAbove(level);
  }

  /** Stops ticking, cancels pending calls (no callbacks) and tells the root context it is done. */
  close(): void {
    if (this.closed) return;
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    this.calls.close();
    const root = this.contexts.rootContextId;
    if (this.startCalled && root !== 0 && !this.failed) {
      this.callIn(root, 'proxy_on_done', [root]);
      this.callIn(root, 'proxy_on_delete', [root]);
    }
    this.closed = true;
  }

  // ---- StreamHost ----

  createStreamContext(stream: HttpStream): boolean {
    return (
      this.callIn(stream.id, 'proxy_on_context_create', [stream.id, this.contexts.rootContextId]) !==
      undefined
    );
  }

  callStreamHook(stream: HttpStream, hook: string, args: number[]): number | undefined {
    return this.callIn(stream.id, hook, args);
  }

  releaseStream(stream: HttpStream): void {
    this.contexts.streams.delete(stream.id);
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
    const saved = this.contexts.enter(contextId);
    const savedCritical = this.log.lastCritical;
    this.log.lastCritical = undefined;
    this.callDepth++;
    let result: unknown;
    let trap: { error: unknown; effective: number } | undefined;
    try {
      const call = () => (fn as (...a: Array<number | bigint>) => unknown)(...args);
      result = this.guestClock === undefined ? call() : this.guestClock.timeGuest(hook, call);
    } catch (error) {
      trap = { error, effective: this.contexts.effective };
    }
    const abortMessage = this.log.lastCritical;
    this.callDepth--;
    this.contexts.leave(saved);
    this.log.lastCritical = savedCritical;
    if (trap !== undefined) this.onTrap(hook, contextId, trap.effective, trap.error, abortMessage);
    if (this.callDepth === 0) this.host.runDeferred();
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
    const message =
      error instanceof AtpError
        ? `${error.code}: ${error.message}`
        : error instanceof Error
          ? `${error.name}: ${error.message}`
          : String(error);
    const record: TrapRecord = { hook, contextId, message };
    if (abortMessage !== undefined) record.abortMessage = abortMessage;
    if (error instanceof Error && error.stack !== undefined) record.stack = error.stack;
    this.traps.push(record);
    this.trapped = true;
    this.host.log(LOG_CRITICAL, `emulator: wasm trap in ${hook} (context ${contextId}): ${message}`);
    // The stream the failure happened in answers 503; so do streams waiting on a VM that is gone.
    const streams = this.contexts.streams;
    const culprit = streams.get(effective) ?? streams.get(contextId);
    culprit?.failStream(message);
    for (const stream of streams.values()) {
      if (!stream.isSettled && stream.state.kind === 'paused') stream.failStream('VM failed');
    }
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
    const root = this.contexts.rootContextId;
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
      this.host.callResponse = { headers, body, trailers };
      this.callIn(root, 'proxy_on_http_call_response', [
        root,
        token,
        headers.size,
        body.length,
        trailers.size,
      ]);
      this.host.callResponse = undefined;
      return;
    }
    this.host.rootStatus = {
      code: WasmResult.BrokenConnection,
      message: outcome.kind === 'timeout' ? 'timeout' : 'reset',
    };
    this.callIn(root, 'proxy_on_http_call_response', [root, token, 0, 0, 0]);
    this.host.rootStatus = { code: 0, message: '' };
  }
}

function headerPairsOf(headers: HeaderPairs | Record<string, string> | undefined): HeaderPairs {
  if (headers === undefined) return [];
  return Array.isArray(headers) ? headers : Object.entries(headers);
}
