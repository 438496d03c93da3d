/**
 * Shared data: a key-value store per VM id with compare-and-swap, shared by
 * every VM (Envoy worker) given the same store — the semantics of
 * proxy-wasm-cpp-host's SharedData:
 *   - get returns the value and its cas, or NotFound;
 *   - set with cas 0 is unconditional; with a non-zero cas it fails with
 *     CasMismatch unless the key's current cas matches (a key that does not
 *     exist yet is created whatever the cas);
 *   - every successful set gives the key a fresh, non-zero cas.
 */
import { WasmResult, type WasmResultCode } from './abi.js';

export interface SharedValue {
  value: Uint8Array;
  cas: number;
}

const U32_RANGE = 2 ** 32;

export class SharedDataStore {
  private readonly byVm = new Map<string, Map<string, SharedValue>>();
  private nextCas = 1;

  get(vmId: string, key: string): SharedValue | undefined {
    const entry = this.byVm.get(vmId)?.get(key);
    return entry === undefined ? undefined : { value: entry.value.slice(), cas: entry.cas };
  }

  set(vmId: string, key: string, value: Uint8Array, cas: number): WasmResultCode {
    let map = this.byVm.get(vmId);
    if (map === undefined) {
      map = new Map();
      this.byVm.set(vmId, map);
    }
    const current = map.get(key);
    if (current !== undefined && cas !== 0 && cas !== current.cas) return WasmResult.CasMismatch;
    map.set(key, { value: value.slice(), cas: this.takeCas() });
    return WasmResult.Ok;
  }

  /** Keys of one VM id, for tests and debugging. */
  keys(vmId: string): string[] {
    return [...(this.byVm.get(vmId)?.keys() ?? [])];
  }

  private takeCas(): number {
    const cas = this.nextCas;
    this.nextCas = (this.nextCas + 1) % U32_RANGE;
    if (this.nextCas === 0) this.nextCas = 1;
    return cas;
  }
}
