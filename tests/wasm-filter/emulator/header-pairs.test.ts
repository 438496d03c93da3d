import t from 'tap';
import {
  deserializeHeaderPairs,
  type HeaderPairs,
  serializeHeaderPairs,
  WasmResult,
} from '../../../wasm-filter/emulator/index.js';
import { AbiProbe } from '../helpers/abi-probe.js';

const PAIRS: HeaderPairs = [
  [':method', 'POST'],
  [':path', '/v1/check?x=1'],
  [':authority', 'atp-sidecar'],
  ['x-empty', ''],
  ['x-multi', 'a'],
  ['x-multi', 'b'],
  ['x-latin1', 'caf\u00e9'],
];

t.test('header map pairs survive a serialization round trip', async (t) => {
  // Serialize: u32 count, u32 sizes, then NUL-terminated keys and values.
  const bytes = serializeHeaderPairs(PAIRS);
  const view = new DataView(bytes.buffer);
  t.equal(view.getUint32(0, true), PAIRS.length, 'count first');
  t.equal(view.getUint32(4, true), ':method'.length, 'then the first key size');
  t.equal(view.getUint32(8, true), 'POST'.length, 'then the first value size');

  // Deserialize: the same pairs, order, duplicates and empty values included.
  t.same(deserializeHeaderPairs(bytes), PAIRS);

  // No pairs is a 4-byte zero count.
  t.same([...serializeHeaderPairs([])], [0, 0, 0, 0]);
  t.same(deserializeHeaderPairs(serializeHeaderPairs([])), []);
});

t.test('malformed pair buffers read as no pairs, never as garbage', async (t) => {
  // Too short for a count, a count larger than the buffer, sizes running past the end.
  t.same(deserializeHeaderPairs(new Uint8Array([1, 0])), []);
  t.same(deserializeHeaderPairs(new Uint8Array([200, 0, 0, 0, 1, 0, 0, 0])), []);
  const truncated = serializeHeaderPairs(PAIRS).subarray(0, 40);
  t.same(deserializeHeaderPairs(truncated), []);
});

t.test('pairs written by a guest reach the host intact through the ABI', async (t) => {
  // A guest dispatches an HTTP call with serialized headers.
  let received: HeaderPairs = [];
  const probe = await AbiProbe.start({
    clusters: {
      c: (call) => {
        received = call.headers;
        return { status: 200 };
      },
    },
  });
  t.teardown(() => probe.vm.close());
  const [cluster, clusterLen] = probe.place('c');
  const [headers, headersLen] = probe.place(serializeHeaderPairs(PAIRS));
  const [trailers, trailersLen] = probe.place(serializeHeaderPairs([]));
  const [body, bodyLen] = probe.place('');
  const token = probe.slot();
  const result = probe.call(
    'proxy_http_call',
    cluster,
    clusterLen,
    headers,
    headersLen,
    body,
    bodyLen,
    trailers,
    trailersLen,
    100,
    token,
  );
  t.equal(result, WasmResult.Ok);

  // The host sees the same pairs (keys lower-cased, as Envoy's header maps do).
  await probe.vm.idle();
  t.same(received, PAIRS);
});
