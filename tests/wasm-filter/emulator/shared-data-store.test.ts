import t from 'tap';
import { SharedDataStore, WasmResult } from '../../../wasm-filter/emulator/index.js';
import { AbiProbe } from '../helpers/abi-probe.js';

const bytes = (s: string) => Buffer.from(s, 'utf8');

t.test('shared data follows compare-and-swap semantics', async (t) => {
  // A fresh store has nothing.
  const store = new SharedDataStore();
  t.equal(store.get('vm', 'k'), undefined);

  // A first set succeeds whatever the cas (the key does not exist yet) and gets a non-zero cas.
  t.equal(store.set('vm', 'k', bytes('v1'), 12345), WasmResult.Ok);
  const first = store.get('vm', 'k');
  t.equal(Buffer.from(first?.value ?? []).toString(), 'v1');
  t.not(first?.cas, 0);

  // A set with a stale cas fails and leaves the value alone.
  const cas = first?.cas ?? 0;
  t.equal(store.set('vm', 'k', bytes('v2'), cas + 1), WasmResult.CasMismatch);
  t.equal(Buffer.from(store.get('vm', 'k')?.value ?? []).toString(), 'v1');

  // A set with the current cas succeeds and moves the cas on.
  t.equal(store.set('vm', 'k', bytes('v2'), cas), WasmResult.Ok);
  const second = store.get('vm', 'k');
  t.not(second?.cas, cas);

  // The old cas is now stale; cas 0 is unconditional.
  t.equal(store.set('vm', 'k', bytes('v3'), cas), WasmResult.CasMismatch);
  t.equal(store.set('vm', 'k', bytes('v3'), 0), WasmResult.Ok);
  t.equal(Buffer.from(store.get('vm', 'k')?.value ?? []).toString(), 'v3');

  // Values are scoped by VM id.
  t.equal(store.get('other-vm', 'k'), undefined);
});

t.test('shared data set by one VM is read, with its cas, by another VM through the ABI', async (t) => {
  // Two VMs (two Envoy workers) share one store.
  const store = new SharedDataStore();
  const a = await AbiProbe.start({ vmId: 'atp', sharedData: store });
  const b = await AbiProbe.start({ vmId: 'atp', sharedData: store });
  const other = await AbiProbe.start({ vmId: 'other', sharedData: store });
  t.teardown(() => {
    for (const probe of [a, b, other]) probe.vm.close();
  });

  // Worker A writes a value unconditionally.
  const [keyA, keyLenA] = a.place('decision:req-1');
  const [valA, valLenA] = a.place('allow');
  t.equal(a.call('proxy_set_shared_data', keyA, keyLenA, valA, valLenA, 0), WasmResult.Ok);

  // Worker B reads it back, with a cas.
  const [keyB, keyLenB] = b.place('decision:req-1');
  const ptr = b.slot();
  const size = b.slot();
  const casSlot = b.slot();
  t.equal(b.call('proxy_get_shared_data', keyB, keyLenB, ptr, size, casSlot), WasmResult.Ok);
  t.equal(Buffer.from(b.returned(ptr, size)).toString(), 'allow');
  const cas = b.u32(casSlot);
  t.not(cas, 0);

  // Worker A overwrites it; B's cas is now stale and its conditional write fails.
  t.equal(a.call('proxy_set_shared_data', keyA, keyLenA, valA, valLenA, 0), WasmResult.Ok);
  const [valB, valLenB] = b.place('deny');
  t.equal(b.call('proxy_set_shared_data', keyB, keyLenB, valB, valLenB, cas), WasmResult.CasMismatch);

  // A VM with another VM id sees nothing.
  const [keyO, keyLenO] = other.place('decision:req-1');
  t.equal(
    other.call('proxy_get_shared_data', keyO, keyLenO, other.slot(), other.slot(), other.slot()),
    WasmResult.NotFound,
  );
  t.same([...a.vm.traps, ...b.vm.traps, ...other.vm.traps], []);
});
