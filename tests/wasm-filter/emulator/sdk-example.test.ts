import { readFile } from 'node:fs/promises';
import t from 'tap';
import { implementedImports, ProxyWasmVm } from '../../../wasm-filter/emulator/index.js';
import { ADD_HEADER_ENTRY, buildWasmModule } from '../../../wasm-filter/scripts/build.js';
import { header } from '../helpers/filter-harness.js';

t.test("the emulator hosts the SDK's own AddHeader example, built with the filter's compiler", async (t) => {
  // Build the SDK README's "Hello, World" module (wasm-filter/fixtures/add-header.ts) with the same asc.
  const { outPath } = await buildWasmModule({ entry: ADD_HEADER_ENTRY, log: () => {} });
  const wasm = await readFile(outPath);

  // Every host function it imports is one the emulator implements.
  const implemented = new Set(implementedImports());
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(wasm)).filter(
    (i) => i.kind === 'function',
  );
  t.same(
    imports.map((i) => `${i.module}.${i.name}`).filter((name) => !implemented.has(name)),
    [],
    'no import left unimplemented',
  );

  // Load it under its root id with a configuration, as the README's envoy.yaml does: the example
  // answers `hello: <configuration>`. (With an EMPTY configuration the SDK's onConfigure reads a stale
  // buffer: it passes the size where the ABI wants a pointer, and a zero-length buffer is, in
  // proxy-wasm-cpp-host as here, answered Ok without writing anything back.)
  const vm = await ProxyWasmVm.load(wasm, {
    rootId: 'add_header',
    vmId: 'my_vm_id',
    pluginConfig: 'world!',
    logLevel: 'info',
  });
  t.teardown(() => vm.close());
  t.equal(vm.start(), true, 'configured');

  // A request passes untouched; the response gets `hello: world!`.
  const stream = vm.newHttpStream();
  const request = stream.requestHeaders(
    [
      [':method', 'GET'],
      [':path', '/'],
      [':authority', 'example.com'],
    ],
    true,
  );
  t.equal(request.kind, 'continued');
  const response = stream.responseHeaders(
    [
      [':status', '200'],
      ['content-type', 'text/plain'],
    ],
    false,
  );
  if (response.kind !== 'continued') throw t.fail(`expected continued, got ${response.kind}`);
  t.equal(header(response.headers, 'hello'), 'world!');
  stream.responseBody('hi', true);
  stream.end();

  // Nothing trapped, nothing unimplemented was called.
  t.same(vm.traps, []);
  t.same([...vm.unimplementedCalls], []);
});
