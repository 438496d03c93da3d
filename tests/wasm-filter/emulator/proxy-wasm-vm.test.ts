import t from 'tap';
import {
  type HeaderPairs,
  ProxyWasmVm,
  serializeHeaderPairs,
  WasmResult,
} from '../../../wasm-filter/emulator/index.js';
import { AbiProbe } from '../helpers/abi-probe.js';

const REQUEST_LINE: HeaderPairs = [
  [':method', 'POST'],
  [':path', '/v1/check'],
  [':authority', 'atp-sidecar'],
];

/** Dispatches proxy_http_call from the probe guest; returns the result and the token written. */
function httpCall(probe: AbiProbe, cluster: string, headers: HeaderPairs, timeoutMs = 100) {
  const [c, cLen] = probe.place(cluster);
  const [h, hLen] = probe.place(serializeHeaderPairs(headers));
  const [tr, trLen] = probe.place(serializeHeaderPairs([]));
  const [b, bLen] = probe.place('{"x":1}');
  const token = probe.slot();
  const result = probe.call('proxy_http_call', c, cLen, h, hLen, b, bLen, tr, trLen, timeoutMs, token);
  return { result, token: probe.u32(token) };
}

t.test('an http call to an unknown cluster returns BadArgument', async (t) => {
  // A host that knows only the atp-sidecar cluster.
  const probe = await AbiProbe.start({ clusters: { 'atp-sidecar': () => ({ status: 200 }) } });
  t.teardown(() => probe.vm.close());

  // Calling another cluster is refused synchronously, and nothing is dispatched.
  t.equal(httpCall(probe, 'elsewhere', REQUEST_LINE).result, WasmResult.BadArgument);
  t.equal(probe.vm.httpCalls.length, 0);
});

t.test('an http call without :authority, :path or :method returns BadArgument', async (t) => {
  // A host with the cluster configured.
  const probe = await AbiProbe.start({ clusters: { 'atp-sidecar': () => ({ status: 200 }) } });
  t.teardown(() => probe.vm.close());

  // Each required pseudo-header, when missing, makes the call a BadArgument.
  for (const missing of [':authority', ':path', ':method']) {
    const headers = REQUEST_LINE.filter(([k]) => k !== missing);
    t.equal(httpCall(probe, 'atp-sidecar', headers).result, WasmResult.BadArgument, `without ${missing}`);
  }

  // A timeout the host reads as negative (>= 2^31) is a BadArgument too.
  t.equal(httpCall(probe, 'atp-sidecar', REQUEST_LINE, 0x80000000).result, WasmResult.BadArgument);
  t.equal(probe.vm.httpCalls.length, 0);
});

t.test('a valid http call is dispatched with a token and a content-length', async (t) => {
  // A host whose cluster records the request.
  const probe = await AbiProbe.start({ clusters: { 'atp-sidecar': () => ({ status: 204 }) } });
  t.teardown(() => probe.vm.close());

  // The call returns Ok and a non-zero token.
  const { result, token } = httpCall(probe, 'atp-sidecar', REQUEST_LINE);
  t.equal(result, WasmResult.Ok);
  t.not(token, 0);

  // The cluster receives the request with content-length set; the callback goes to the root
  // context (the probe exports no proxy_on_http_call_response, which the host tolerates).
  await probe.vm.idle();
  const call = probe.vm.httpCalls[0];
  t.equal(call?.token, token);
  t.same(call?.request.headers, [...REQUEST_LINE, ['content-length', '7']]);
  t.equal(call?.outcome, 'response');
  t.equal(call?.status, 204);
});

t.test('a call slower than its timeout is timed out by the host', async (t) => {
  // A cluster that never answers.
  const probe = await AbiProbe.start({ clusters: { 'atp-sidecar': () => new Promise(() => {}) } });
  t.teardown(() => probe.vm.close());

  // The host gives up after the call's own timeout.
  httpCall(probe, 'atp-sidecar', REQUEST_LINE, 10);
  await probe.vm.idle();
  t.equal(probe.vm.httpCalls[0]?.outcome, 'timeout');
});

t.test('a trap is reported, fails the VM, and never throws to the caller', async (t) => {
  // A guest export that executes `unreachable`.
  const probe = await AbiProbe.start();
  t.teardown(() => probe.vm.close());

  // Calling it returns undefined and records the trap.
  t.equal(probe.vm.callRootExport('trap'), undefined);
  t.equal(probe.vm.traps.length, 1);
  t.match(probe.vm.traps[0], { hook: 'trap', message: /RuntimeError: unreachable/ });
  t.equal(probe.vm.failed, true);

  // A failed VM answers new streams 503, as Envoy does without fail_open.
  const stream = probe.vm.newHttpStream();
  const state = stream.requestHeaders(REQUEST_LINE, true);
  t.equal(state.kind === 'local-reply' && state.status, 503);
});

t.test('an import the emulator does not implement answers Unimplemented', async (t) => {
  // The probe imports env.proxy_made_up_function.
  const probe = await AbiProbe.start();
  t.teardown(() => probe.vm.close());

  // Calling it returns Unimplemented and is noted, without a trap.
  t.equal(probe.call('proxy_made_up_function'), WasmResult.Unimplemented);
  t.ok(probe.vm.unimplementedCalls.has('env.proxy_made_up_function'));
  t.same(probe.vm.traps, []);
});

t.test('metrics defined by a guest are readable by tests and by the guest', async (t) => {
  // A guest defines a counter and increments it twice.
  const probe = await AbiProbe.start();
  t.teardown(() => probe.vm.close());
  const [name, nameLen] = probe.place('probe.requests');
  const idSlot = probe.slot();
  t.equal(probe.call('proxy_define_metric', 0, name, nameLen, idSlot), WasmResult.Ok);
  const id = probe.u32(idSlot);
  t.equal(probe.call('proxy_increment_metric', id, 2n), WasmResult.Ok);
  t.equal(probe.call('proxy_increment_metric', id, 3n), WasmResult.Ok);

  // Counters only go up.
  t.equal(probe.call('proxy_increment_metric', id, -1n), WasmResult.BadArgument);

  // The test reads it by name; the guest reads it by id.
  t.equal(probe.vm.metrics.value('probe.requests'), 5n);
  const valueSlot = probe.slot();
  t.equal(probe.call('proxy_get_metric', id, valueSlot), WasmResult.Ok);
  t.equal(probe.u64(valueSlot), 5n);
});

t.test('logs are collected at or above the configured level', async (t) => {
  // A VM logging at warn.
  const probe = await AbiProbe.start({ logLevel: 'warn' });
  t.teardown(() => probe.vm.close());

  // A debug line is dropped, an error line is kept; an unknown level is a BadArgument.
  const [debug, debugLen] = probe.place('chatty');
  const [error, errorLen] = probe.place('broken');
  t.equal(probe.call('proxy_log', 1, debug, debugLen), WasmResult.Ok);
  t.equal(probe.call('proxy_log', 4, error, errorLen), WasmResult.Ok);
  t.equal(probe.call('proxy_log', 9, error, errorLen), WasmResult.BadArgument);
  t.same(
    probe.vm.logs.map((l) => [l.level, l.message]),
    [['error', 'broken']],
  );

  // An out-of-bounds pointer is InvalidMemoryAccess, not a host crash.
  t.equal(probe.call('proxy_log', 4, 0x7fff0000, 10), WasmResult.InvalidMemoryAccess);
  t.same(probe.vm.hostErrors, []);
});

t.test('a module that is not proxy-wasm 0.2 is refused with a coded error', async (t) => {
  // The smallest valid WebAssembly module: no exports at all.
  const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

  // Loading it rejects, saying which ABI version exports were looked for.
  await t.rejects(ProxyWasmVm.load(empty), {
    code: 'ATP_ERR_NOT_PROXY_WASM',
    message: /not a proxy-wasm 0\.2 module: exports none of proxy_abi_version_0_2/,
  });
});
