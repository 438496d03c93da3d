/**
 * Error registry of the wasm-filter package (its build, the proxy-wasm host
 * emulator and the local data plane), declared with the platform's
 * `defineErrors`: every error that leaves these modules is a platform
 * AtpError carrying one of these specs. The filter itself (AssemblyScript)
 * never throws: its refusals are HTTP answers and log lines (README.md).
 */
import { defineErrors } from '@mercato/platform/errors';

export const ERR = defineErrors({
  /** asconfig.json lacks what the filter build needs (an entry, a target, its binaryFile). */
  INVALID_BUILD_CONFIG: {
    code: 'ATP_ERR_INVALID_BUILD_CONFIG',
    retriable: false,
    httpStatus: 500,
    grpcStatus: 9,
    hint: 'fix asconfig.json at the repository root: entries, targets.release and targets.debug (each with a binaryFile), options',
  },
  /** The AssemblyScript compiler failed (its output is in the message). */
  WASM_BUILD_FAILED: {
    code: 'ATP_ERR_WASM_BUILD_FAILED',
    retriable: false,
    httpStatus: 500,
    grpcStatus: 13,
    hint: 'read the compiler output; the SDK (@solo-io/proxy-runtime 0.1.8) builds only with assemblyscript 0.17.14',
  },
  /** The bytes given to the emulator are not a proxy-wasm 0.2 module it can host. */
  NOT_PROXY_WASM: {
    code: 'ATP_ERR_NOT_PROXY_WASM',
    retriable: false,
    httpStatus: 400,
    grpcStatus: 3,
  },
  /** The filter refused its plugin configuration (or trapped while starting): the data plane cannot serve. */
  FILTER_REFUSED_TO_START: {
    code: 'ATP_ERR_FILTER_REFUSED_TO_START',
    retriable: false,
    httpStatus: 503,
    grpcStatus: 9,
    hint: 'fix the plugin configuration (schema: wasm-filter/README.md); the error log lines name the field',
  },
  /** The guest called proc_exit (AssemblyScript's abort): it ends the guest call, as a trap. */
  GUEST_EXIT: {
    code: 'ATP_ERR_GUEST_EXIT',
    retriable: false,
    httpStatus: 503,
    grpcStatus: 13,
  },
  /** The emulator or the data plane was driven out of order (a bug in the caller, e.g. start() twice). */
  EMULATOR_MISUSE: {
    code: 'ATP_ERR_EMULATOR_MISUSE',
    retriable: false,
    httpStatus: 500,
    grpcStatus: 9,
  },
});
