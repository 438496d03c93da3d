import t from 'tap';
import { implementedImports } from '../../../wasm-filter/emulator/index.js';
import { filterModule } from '../helpers/filter-harness.js';

t.test('the emulator implements every host function the ATP filter imports', async (t) => {
  // The filter's imports, as the compiled module declares them.
  const module = await filterModule();
  const imported = WebAssembly.Module.imports(module)
    .filter((i) => i.kind === 'function')
    .map((i) => `${i.module}.${i.name}`);
  t.ok(imported.includes('env.proxy_http_call'), 'sanity: the list is the real one');

  // Each one has its ABI semantics in the emulator; none falls to the Unimplemented stub.
  const implemented = new Set(implementedImports());
  t.same(
    imported.filter((name) => !implemented.has(name)),
    [],
  );

  // The filter uses no gRPC call, which is what the emulator leaves unimplemented.
  t.same(
    imported.filter((name) => name.includes('grpc')),
    [],
  );
});
