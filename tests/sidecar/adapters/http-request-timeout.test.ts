/**
 * Issue 16 finding 7: a client that sends headers and half a body, then
 * stalls, held a sidecar socket for 305 s (Node's default request timeout).
 * The edge now cuts it within REQUEST_TIMEOUT_MS (+ the check interval) and
 * keeps answering other callers meanwhile.
 */
import { connect } from 'node:net';
import t from 'tap';
import {
  REQUEST_TIMEOUT_MS,
  TIMEOUT_CHECK_INTERVAL_MS,
} from '../../../sidecar/src/adapters/http/http-server.js';
import { tinySidecar } from '../../helpers/tiny-world.js';

const checkout = JSON.stringify({
  request_id: 'r-1',
  buyer_zone: 'Z1-1',
  channel: 'checkout',
  items: [{ sku: 'IN-STOCK', qty: 1 }],
});

/** Opens a raw socket, sends headers and half the body, then nothing. Resolves when the server closes it. */
function stalledRequest(port: number): Promise<{ closedAfterMs: number; reply: string }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const sock = connect(port, '127.0.0.1');
    let reply = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      reply += d;
    });
    sock.on('error', () => undefined);
    sock.on('close', () => resolve({ closedAfterMs: performance.now() - start, reply }));
    sock.on('connect', () => {
      const half = checkout.slice(0, Math.floor(checkout.length / 2));
      sock.write(
        'POST /v1/check HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n' +
          `content-length: ${checkout.length}\r\n\r\n${half}`,
      );
    });
    // Safety net far beyond the bound: the test fails, it does not hang.
    setTimeout(() => {
      sock.destroy();
      reject(new Error('the stalled socket was still open after 20 s'));
    }, 20_000).unref();
  });
}

t.test('a stalled body is cut within the bound while other requests are answered', async (t) => {
  const sc = tinySidecar();
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());

  const stalled = [stalledRequest(httpPort), stalledRequest(httpPort), stalledRequest(httpPort)];

  // While those sockets stall, ordinary checkouts keep being answered promptly.
  const answered: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${httpPort}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: checkout,
    });
    t.equal(res.status, 200);
    t.equal(res.headers.get('x-atp-decision'), 'allow');
    await res.arrayBuffer();
    answered.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 200));
  }
  t.ok(
    Math.max(...answered) < 1_000,
    `others answered meanwhile (max ${Math.round(Math.max(...answered))} ms)`,
  );

  const bound = REQUEST_TIMEOUT_MS + TIMEOUT_CHECK_INTERVAL_MS + 500;
  for (const r of await Promise.all(stalled)) {
    t.ok(
      r.closedAfterMs >= REQUEST_TIMEOUT_MS - 100,
      `not cut before the bound (${Math.round(r.closedAfterMs)} ms)`,
    );
    t.ok(r.closedAfterMs <= bound, `closed within ${bound} ms (${Math.round(r.closedAfterMs)} ms)`);
    t.match(r.reply, /^HTTP\/1\.1 408/, 'answered 408 Request Timeout');
  }

  // And the server still serves after cutting them.
  const after = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
  t.equal(after.status, 200);
});
