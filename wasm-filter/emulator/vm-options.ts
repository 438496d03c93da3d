/**
 * What a ProxyWasmVm is configured with and what it records: its options
 * (with the Envoy defaults they stand for) and the log, trap and host-error
 * records tests read.
 */
import type { LogLevelName } from './abi.js';
import type { ClusterTarget } from './http-cluster-client.js';
import type { MetricsRegistry } from './metrics-registry.js';
import type { SharedDataStore } from './shared-data-store.js';
import type { SharedQueueRegistry } from './shared-queue-registry.js';

/** Envoy's default per_connection_buffer_limit_bytes. */
export const DEFAULT_BUFFER_LIMIT_BYTES = 1024 * 1024;
/** Collected log entries kept per VM; older ones are dropped (a long-running data plane stays bounded). */
export const MAX_COLLECTED_LOGS = 10_000;
/** How timed-out or failed HTTP calls reach the module (see ProxyWasmVmOptions.httpCallFailures). */
export type HttpCallFailureMode = 'reset' | 'envoy-local-reply';
export const DEFAULT_HTTP_CALL_FAILURES: HttpCallFailureMode = 'envoy-local-reply';
export const DEFAULT_LOG_LEVEL: LogLevelName = 'info';

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

/** Text as UTF-8 bytes; bytes as they are; nothing as no bytes. */
export function toBytes(value: string | Uint8Array | undefined): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}
