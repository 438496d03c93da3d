// Entry point compiled by wasm-filter/scripts/build.ts: the proxy-wasm 0.2
// ABI (proxy_on_*, malloc), dispatching to the ATP root and stream contexts.
// The SDK's own exports are not re-exported; abi-exports.ts says why.

export * from './contexts/abi-exports';
