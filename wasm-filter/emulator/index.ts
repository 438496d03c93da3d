/**
 * The proxy-wasm host emulator's public surface. Production runs the filter
 * in Envoy; this emulator runs the same .wasm for tests and the local data plane.
 */

export { LOG_LEVELS, type LogLevelName, WasmResult, type WasmResultCode } from './abi.js';
export { type ClockCalibration, type ExportTime, GuestClock, type GuestTime } from './guest-clock.js';
export { HeaderMap } from './header-map.js';
export { deserializeHeaderPairs, type HeaderPairs, serializeHeaderPairs } from './header-pairs.js';
export { implementedImports } from './host-imports.js';
export type { HttpCallRecord } from './http-call-dispatcher.js';
export {
  type ClusterAddress,
  type ClusterHandler,
  type ClusterTarget,
  DROP_CALLBACK,
  type HttpCallRequest,
  type HttpCallResponse,
} from './http-cluster-client.js';
export { type FlowEvent, HttpStream, type StreamState } from './http-stream.js';
export {
  createLocalDataPlane,
  type LocalDataPlane,
  type LocalDataPlaneOptions,
  READINESS_PATH,
} from './local-data-plane.js';
export { type MetricSnapshot, MetricsRegistry } from './metrics-registry.js';
export {
  DEFAULT_BUFFER_LIMIT_BYTES,
  DEFAULT_HTTP_CALL_FAILURES,
  type HostErrorRecord,
  type HttpCallFailureMode,
  type LogEntry,
  ProxyWasmVm,
  type ProxyWasmVmOptions,
  type TrapRecord,
} from './proxy-wasm-vm.js';
export { SharedDataStore, type SharedValue } from './shared-data-store.js';
export { SharedQueueRegistry } from './shared-queue-registry.js';
