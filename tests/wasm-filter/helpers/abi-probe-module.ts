/**
 * Builds a tiny proxy-wasm module, byte by byte, for ABI-level tests of the
 * emulator: for each host function listed it imports `env.<name>` and exports
 * `call_<name>`, a trampoline with the same signature. It also exports
 * memory, a bump-allocator `malloc`, `proxy_abi_version_0_2_0`, and `trap`
 * (an `unreachable`). Tests place arguments in memory and call trampolines
 * through ProxyWasmVm.callRootExport, exactly as a guest would.
 */

export type ValueType = 'i32' | 'i64';

export interface HostFunctionSignature {
  name: string;
  params: ValueType[];
  result?: ValueType;
}

/** Where the bump allocator starts; memory below it is free for test arguments. */
export const HEAP_START = 32 * 1024;
const MEMORY_PAGES = 2;

const VALUE_TYPE: Record<ValueType, number> = { i32: 0x7f, i64: 0x7e };
const SECTION = { type: 1, import: 2, function: 3, memory: 5, global: 6, export: 7, code: 10 };
const OP = {
  unreachable: 0x00,
  end: 0x0b,
  call: 0x10,
  localGet: 0x20,
  globalGet: 0x23,
  globalSet: 0x24,
  i32Const: 0x41,
  i32Add: 0x6a,
};
const FUNC_TYPE = 0x60;
const KIND_FUNC = 0x00;
const KIND_MEMORY = 0x02;

function unsignedLeb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function signedLeb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  while (true) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function name(s: string): number[] {
  const bytes = [...Buffer.from(s, 'utf8')];
  return [...unsignedLeb(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

function section(id: number, contents: number[]): number[] {
  return [id, ...unsignedLeb(contents.length), ...contents];
}

function funcType(params: ValueType[], result?: ValueType): number[] {
  return [
    FUNC_TYPE,
    ...vector(params.map((p) => [VALUE_TYPE[p]])),
    ...vector(result === undefined ? [] : [[VALUE_TYPE[result]]]),
  ];
}

function body(code: number[]): number[] {
  const withLocals = [0x00, ...code, OP.end]; // no local declarations
  return [...unsignedLeb(withLocals.length), ...withLocals];
}

export function buildAbiProbeModule(functions: HostFunctionSignature[]): Uint8Array {
  const n = functions.length;
  const mallocType = n;
  const voidType = n + 1;
  const types = [
    ...functions.map((f) => funcType(f.params, f.result)),
    funcType(['i32'], 'i32'),
    funcType([]),
  ];
  const imports = functions.map((f, i) => [...name('env'), ...name(f.name), KIND_FUNC, ...unsignedLeb(i)]);
  // Defined functions: n trampolines, malloc, abi version marker, trap.
  const defined = [
    ...functions.map((_, i) => unsignedLeb(i)),
    unsignedLeb(mallocType),
    unsignedLeb(voidType),
    unsignedLeb(voidType),
  ];
  const memory = [[0x00, ...unsignedLeb(MEMORY_PAGES)]];
  const heapPointer = [[VALUE_TYPE.i32, 0x01, OP.i32Const, ...signedLeb(HEAP_START), OP.end]];
  const firstDefined = n;
  const exports = [
    [...name('memory'), KIND_MEMORY, 0x00],
    ...functions.map((f, i) => [...name(`call_${f.name}`), KIND_FUNC, ...unsignedLeb(firstDefined + i)]),
    [...name('malloc'), KIND_FUNC, ...unsignedLeb(firstDefined + n)],
    [...name('proxy_abi_version_0_2_0'), KIND_FUNC, ...unsignedLeb(firstDefined + n + 1)],
    [...name('trap'), KIND_FUNC, ...unsignedLeb(firstDefined + n + 2)],
  ];
  const trampolines = functions.map((f, i) =>
    body([...f.params.flatMap((_, p) => [OP.localGet, ...unsignedLeb(p)]), OP.call, ...unsignedLeb(i)]),
  );
  // malloc(size): returns the heap pointer and bumps it by size.
  const malloc = body([OP.globalGet, 0, OP.globalGet, 0, OP.localGet, 0, OP.i32Add, OP.globalSet, 0]);
  const abiVersion = body([]);
  const trap = body([OP.unreachable]);
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(SECTION.type, vector(types)),
    ...section(SECTION.import, vector(imports)),
    ...section(SECTION.function, vector(defined)),
    ...section(SECTION.memory, vector(memory)),
    ...section(SECTION.global, vector(heapPointer)),
    ...section(SECTION.export, vector(exports)),
    ...section(SECTION.code, vector([...trampolines, malloc, abiVersion, trap])),
  ]);
}

/** Signatures of the host functions the emulator tests probe (proxy-wasm 0.2, wasm32). */
export const PROBED: HostFunctionSignature[] = [
  { name: 'proxy_http_call', params: Array(10).fill('i32'), result: 'i32' },
  { name: 'proxy_get_shared_data', params: Array(5).fill('i32'), result: 'i32' },
  { name: 'proxy_set_shared_data', params: Array(5).fill('i32'), result: 'i32' },
  { name: 'proxy_define_metric', params: Array(4).fill('i32'), result: 'i32' },
  { name: 'proxy_increment_metric', params: ['i32', 'i64'], result: 'i32' },
  { name: 'proxy_get_metric', params: ['i32', 'i32'], result: 'i32' },
  { name: 'proxy_log', params: ['i32', 'i32', 'i32'], result: 'i32' },
  { name: 'proxy_made_up_function', params: [], result: 'i32' },
];
