import { randomBytes } from 'node:crypto';
import t from 'tap';
import {
  BASE_CONFIG,
  checkoutHeaders,
  replyJson,
  sendCheckout,
  startFilter,
  stockSidecar,
} from './helpers/filter-harness.js';

const ONE_MIB = 1024 * 1024;

/** Bodies the filter must refuse with 400, and the field it must name. */
const CASES: Array<{ why: string; body: string | Uint8Array; field: string; message?: RegExp }> = [
  { why: 'empty body', body: '', field: '$', message: /empty body/ },
  { why: 'not JSON', body: 'hello, world', field: '$', message: /not valid JSON/ },
  {
    why: 'a JSON array instead of an object',
    body: '[1,2,3]',
    field: '$',
    message: /expected an object, got an array/,
  },
  { why: 'trailing garbage', body: '{"items":[{"sku":"A","qty":1}],"buyer_zone":"Z"} x', field: '$' },
  { why: 'missing items', body: '{"buyer_zone":"DE-10"}', field: 'items', message: /got undefined/ },
  {
    why: 'items is a string',
    body: '{"items":"SKU-1"}',
    field: 'items',
    message: /expected an array, got a string/,
  },
  { why: 'items is empty', body: '{"items":[],"buyer_zone":"Z"}', field: 'items', message: /at least 1/ },
  {
    why: 'a SKU on two lines (its hold is per SKU and decision)',
    body: '{"items":[{"sku":"A","qty":1},{"sku":"B","qty":1},{"sku":"A","qty":2}]}',
    field: 'items[2].sku',
    message: /A is already items\[0\]: send each SKU once, with the total quantity/,
  },
  { why: 'an item is a number', body: '{"items":[7]}', field: 'items[0]', message: /expected an object/ },
  {
    why: 'sku is a number',
    body: '{"items":[{"sku":42,"qty":1}]}',
    field: 'items[0].sku',
    message: /expected a string/,
  },
  { why: 'sku missing', body: '{"items":[{"qty":1}]}', field: 'items[0].sku', message: /got undefined/ },
  { why: 'sku with a space', body: '{"items":[{"sku":"SKU 1","qty":1}]}', field: 'items[0].sku' },
  { why: 'sku starting with a dash', body: '{"items":[{"sku":"-SKU","qty":1}]}', field: 'items[0].sku' },
  {
    why: 'sku too long',
    body: JSON.stringify({ items: [{ sku: 'S'.repeat(129), qty: 1 }] }),
    field: 'items[0].sku',
  },
  {
    why: 'qty is a string',
    body: '{"items":[{"sku":"A","qty":"2"}]}',
    field: 'items[0].qty',
    message: /expected an integer/,
  },
  {
    why: 'qty is a fraction',
    body: '{"items":[{"sku":"A","qty":1.5}]}',
    field: 'items[0].qty',
    message: /got 1.5/,
  },
  {
    why: 'qty is zero',
    body: '{"items":[{"sku":"A","qty":0}]}',
    field: 'items[0].qty',
    message: /between 1 and 1000, got 0/,
  },
  {
    why: 'qty is negative',
    body: '{"items":[{"sku":"A","qty":-3}]}',
    field: 'items[0].qty',
    message: /got -3/,
  },
  { why: 'qty above 1000', body: '{"items":[{"sku":"A","qty":1001}]}', field: 'items[0].qty' },
  {
    why: 'qty absurdly long',
    body: `{"items":[{"sku":"A","qty":${'9'.repeat(400)}}]}`,
    field: 'items[0].qty',
  },
  { why: 'qty missing', body: '{"items":[{"sku":"A"}]}', field: 'items[0].qty', message: /got undefined/ },
  {
    why: 'the second item is wrong',
    body: '{"items":[{"sku":"A","qty":1},{"sku":"B","qty":true}]}',
    field: 'items[1].qty',
  },
  {
    why: 'duplicate items key',
    body: '{"items":[{"sku":"A","qty":1}],"items":[]}',
    field: 'items',
    message: /more than once/,
  },
  {
    why: 'too many items',
    body: JSON.stringify({
      items: Array.from({ length: 51 }, (_, i) => ({ sku: `S${i}`, qty: 1 })),
      buyer_zone: 'Z',
    }),
    field: 'items',
    message: /more than 50/,
  },
  {
    why: 'truncated JSON',
    body: '{"items":[{"sku":"A","qty":1}],"buyer_zone":"DE',
    field: '$',
    message: /unterminated/,
  },
  { why: 'truncated after a colon', body: '{"items":', field: '$', message: /end of JSON/ },
  {
    why: 'unicode in the sku',
    body: '{"items":[{"sku":"ÄPFEL-1","qty":1}],"buyer_zone":"Z"}',
    field: 'items[0].sku',
  },
  {
    why: 'escaped unicode in the sku',
    body: '{"items":[{"sku":"\\u00c4X","qty":1}],"buyer_zone":"Z"}',
    field: 'items[0].sku',
  },
  {
    why: 'emoji in the buyer zone',
    body: '{"items":[{"sku":"A","qty":1}],"buyer_zone":"😀"}',
    field: 'buyer_zone',
  },
  { why: 'bad escape', body: '{"items":[{"sku":"A\\q","qty":1}]}', field: '$', message: /bad escape/ },
  {
    why: 'raw control character',
    body: '{"items":[{"sku":"A\u0001","qty":1}]}',
    field: '$',
    message: /control character/,
  },
  {
    why: 'deeply nested arrays as items',
    body: `{"items":${'['.repeat(5000)}${']'.repeat(5000)}}`,
    field: 'items[0]',
  },
  {
    why: 'deeply nested arrays elsewhere',
    body: `{"x":${'['.repeat(60000)}}`,
    field: '$',
    message: /nested deeper/,
  },
  {
    why: 'deeply nested objects elsewhere',
    body: `{"x":${'{"a":'.repeat(20)}1${'}'.repeat(20)}}`,
    field: '$',
    message: /nested deeper/,
  },
  {
    why: 'invalid UTF-8 bytes',
    body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    field: 'items',
  },
];

t.test('malformed bodies never trap and get a 400 naming the field', async (t) => {
  // Start the filter in enforce mode.
  const sidecar = stockSidecar();
  const vm = await startFilter({ sidecar: sidecar.handler });
  t.teardown(() => vm.close());

  for (const c of CASES) {
    // Send the bad body: the filter answers 400 itself, with the offending field.
    const { stream, state } = await sendCheckout(vm, c.body);
    if (state.kind !== 'local-reply') {
      t.fail(`${c.why}: expected a local reply, got ${state.kind}`);
      continue;
    }
    t.equal(state.status, 400, `${c.why}: 400`);
    const json = replyJson(state);
    t.equal(json.error, 'invalid_request', `${c.why}: error code`);
    t.equal(json.field, c.field, `${c.why}: names ${c.field}`);
    if (c.message !== undefined) t.match(json.message, c.message, `${c.why}: message`);
    t.equal(stream.localReplyRequests, 1, `${c.why}: one local reply`);
    stream.end();
  }

  // None of them reached the sidecar, and the VM never trapped.
  await vm.idle();
  t.equal(sidecar.calls.length, 0);
  t.same(vm.traps, [], 'no trap');
  t.same(vm.hostErrors, []);
});

t.test('unknown body fields of any shape are skipped, never forwarded', async (t) => {
  // Start the filter with a sidecar that records what it receives.
  const sidecar = stockSidecar();
  const vm = await startFilter({ sidecar: sidecar.handler });
  t.teardown(() => vm.close());

  // A body with extra fields: nested objects, arrays, unicode, escapes, numbers in every form.
  const fields = JSON.stringify({
    user: { id: 'u-123', email: 'bob@example.com', tags: ['a', { b: [1, 2, { c: null }] }] },
    note: 'Grüße \u0000 "quoted" \\ 東京',
    flags: [true, false, null],
    items: [{ sku: 'SKU-1', qty: 3, gift_message: 'hi', price: 9.99 }],
    buyer_zone: 'JP-13',
  });
  // Numbers beyond double precision are written by hand: JSON allows them.
  const body = `{"amounts":[0,-1.5e3,2E-7,12345678901234567890123],${fields.slice(1)}`;
  const { state } = await sendCheckout(vm, body);

  // The checkout is decided, and the sidecar got only the fields it needs.
  t.equal(state.kind, 'continued');
  t.same(sidecar.requests[0]?.items, [{ sku: 'SKU-1', qty: 3 }]);
  t.notMatch(Buffer.from(sidecar.calls[0]?.body ?? []).toString(), /u-123|bob@|gift|price|Grüße/);
  t.same(vm.traps, []);
});

t.test('a 1 MB body is refused as soon as it passes max_body_bytes', async (t) => {
  // Start the filter (max_body_bytes 64 KiB; the host buffer limit is Envoy's default 1 MiB).
  const vm = await startFilter();
  t.teardown(() => vm.close());

  // Stream a 1 MiB body in 16 KiB chunks: the filter answers 400 once it holds more than 64 KiB.
  const stream = vm.newHttpStream();
  stream.requestHeaders(checkoutHeaders(), false);
  const chunk = Buffer.alloc(16 * 1024, 0x20);
  let sent = 0;
  while (sent < ONE_MIB && stream.state.kind === 'paused') {
    sent += chunk.length;
    stream.requestBody(chunk, sent >= ONE_MIB);
  }
  const state = await stream.settled();

  // It stopped reading early and named the whole body.
  t.ok(sent <= BASE_CONFIG.max_body_bytes + chunk.length, `refused after ${sent} bytes`);
  t.equal(state.kind, 'local-reply');
  t.match(replyJson(state), { error: 'invalid_request', field: '$', message: /larger than 65536 bytes/ });
  t.same(vm.traps, []);
});

t.test('a declared content-length over the limit is refused before any body arrives', async (t) => {
  // Start the filter.
  const vm = await startFilter();
  t.teardown(() => vm.close());

  // Send headers announcing 1 MiB: the reply comes from the headers alone.
  const stream = vm.newHttpStream();
  const state = stream.requestHeaders(checkoutHeaders([['content-length', String(ONE_MIB)]]), false);
  t.equal(state.kind, 'local-reply');
  t.equal(replyJson(state).field, '$');
  t.same(vm.traps, []);
});

t.test('a body over the host buffer limit is refused by the host with 413', async (t) => {
  // Start the filter allowing 1 MiB bodies, on a host whose buffer limit is 32 KiB.
  const vm = await startFilter({
    config: { ...BASE_CONFIG, max_body_bytes: ONE_MIB },
    bufferLimitBytes: 32 * 1024,
  });
  t.teardown(() => vm.close());

  // Stream 16 KiB chunks: once the held body passes 32 KiB the host answers 413 itself.
  const stream = vm.newHttpStream();
  stream.requestHeaders(checkoutHeaders(), false);
  for (let i = 0; i < 4 && stream.state.kind === 'paused'; i++)
    stream.requestBody(Buffer.alloc(16 * 1024, 0x20), i === 3);
  const state = await stream.settled();
  if (state.kind !== 'local-reply') throw t.fail(`expected a local reply, got ${state.kind}`);
  t.equal(state.status, 413);
  t.equal(stream.localReplyRequests, 0, 'the filter itself sent nothing');
  stream.end();
  t.same(vm.traps, []);
});

t.test('random and mutated bodies never trap the filter', async (t) => {
  // Start the filter.
  const vm = await startFilter();
  t.teardown(() => vm.close());

  // Throw random bytes and byte-flipped versions of a valid basket at it.
  const valid = Buffer.from(JSON.stringify({ items: [{ sku: 'SKU-1', qty: 2 }], buyer_zone: 'DE-10' }));
  const bodies: Buffer[] = [];
  for (let i = 0; i < 150; i++) bodies.push(randomBytes(1 + (i % 200)));
  for (let i = 0; i < 150; i++) {
    const mutated = Buffer.from(valid);
    const flips = 1 + (i % 4);
    for (let f = 0; f < flips; f++) mutated[(i * 7 + f * 13) % mutated.length] = randomBytes(1)[0] ?? 0;
    bodies.push(i % 3 === 0 ? mutated.subarray(0, i % mutated.length) : mutated);
  }
  for (const body of bodies) {
    const { stream, state } = await sendCheckout(vm, body);
    // Every outcome is a decision (continued) or a 400 — never a trap, never two replies.
    if (state.kind === 'local-reply') t.equal(state.status, 400);
    else t.equal(state.kind, 'continued');
    t.ok(stream.localReplyRequests <= 1);
    stream.end();
  }
  await vm.idle();
  t.same(vm.traps, [], 'no trap');
});
