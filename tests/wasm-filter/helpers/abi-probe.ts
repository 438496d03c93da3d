/** A ProxyWasmVm running the ABI probe module, with helpers to place arguments and read results. */
import { ProxyWasmVm, type ProxyWasmVmOptions } from '../../../wasm-filter/emulator/index.js';
import { buildAbiProbeModule, PROBED } from './abi-probe-module.js';

export class AbiProbe {
  readonly vm: ProxyWasmVm;
  private next = 1024;

  private constructor(vm: ProxyWasmVm) {
    this.vm = vm;
  }

  static async start(options: ProxyWasmVmOptions = {}): Promise<AbiProbe> {
    const vm = await ProxyWasmVm.load(buildAbiProbeModule(PROBED), options);
    if (!vm.start()) throw new Error('the probe module did not start');
    return new AbiProbe(vm);
  }

  /** Copies bytes (or a UTF-8 string) into guest memory; returns [pointer, size]. */
  place(data: Uint8Array | string): [number, number] {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const ptr = this.next;
    this.next += Math.max(8, (bytes.length + 7) & ~7);
    if (!this.vm.guestMemory.writeBytes(ptr, bytes)) throw new Error('probe scratch space exhausted');
    return [ptr, bytes.length];
  }

  /** Reserves a zeroed out-parameter slot of 8 bytes. */
  slot(): number {
    return this.place(new Uint8Array(8))[0];
  }

  u32(ptr: number): number {
    const bytes = this.vm.guestMemory.read(ptr, 4);
    if (bytes === undefined) throw new Error('bad pointer');
    return new DataView(bytes.buffer).getUint32(0, true);
  }

  u64(ptr: number): bigint {
    const bytes = this.vm.guestMemory.read(ptr, 8);
    if (bytes === undefined) throw new Error('bad pointer');
    return new DataView(bytes.buffer).getBigUint64(0, true);
  }

  /** Bytes the host returned through a (pointer, size) pair of out-parameters. */
  returned(ptrSlot: number, sizeSlot: number): Uint8Array {
    return this.vm.guestMemory.read(this.u32(ptrSlot), this.u32(sizeSlot)) ?? new Uint8Array(0);
  }

  call(name: string, ...args: Array<number | bigint>): number | undefined {
    return this.vm.callRootExport(`call_${name}`, args);
  }
}
