/**
 * A constant-rate HTTP/1.1 load generator (Debian's wrk 4 has no -R): sends
 * POST /v1/check at a fixed schedule over keep-alive TCP connections (one
 * request in flight per connection, no pipelining) and measures each latency
 * from the request's *intended* send time, so a stalled server is charged
 * for the queue it causes (no coordinated omission). Raw sockets and
 * pre-encoded requests keep the generator's own cost per request to a few
 * microseconds (node:http's client costs ~100 us and could not hold 5K/s).
 * Run as its own process; prints one JSON line of results.
 *
 *   node --import tsx bench/lib/constant-rate-load.ts <port> <ratePerS> <seconds> <connections> <skus|requests.json>
 *
 * The last argument is a SKU count (SKU-i in turn, zone Z1-1) or the path of
 * the bench world's request list (bench/lib/sidecar-bench-world.ts).
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { type BenchRequestLine, benchBody } from './sidecar-bench-world.js';

const [portRaw, rateRaw, secondsRaw, connRaw, skusRaw] = process.argv.slice(2);
const port = Number(portRaw);
const rate = Number(rateRaw);
const seconds = Number(secondsRaw);
const connections = Number(connRaw ?? 64);
const requests: BenchRequestLine[] =
  skusRaw !== undefined && Number.isNaN(Number(skusRaw))
    ? (JSON.parse(readFileSync(skusRaw, 'utf8')) as BenchRequestLine[])
    : Array.from({ length: Number(skusRaw ?? 1000) }, (_, i) => ({ sku: `SKU-${i}`, zone: 'Z1-1' }));

const total = Math.round(rate * seconds);
/** Requests still unanswered this long after the last one was due are counted as dropped. */
const GRACE_MS = 5_000;
const latUs = new Float64Array(total).fill(Number.NaN);
const intervalMs = 1000 / rate;
let start = 0;
let sent = 0;
let done = 0;
let errors = 0;
/** Indexes of requests due but waiting for a free connection. */
const backlog: number[] = [];
let backlogHead = 0;

function encode(i: number): Buffer {
  const body = benchBody(requests, i);
  return Buffer.from(
    `POST /v1/check HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

interface Conn {
  socket: Socket;
  busy: number;
  buf: Buffer;
}
const idle: Conn[] = [];

function send(c: Conn, i: number): void {
  c.busy = i;
  c.socket.write(encode(i));
}

function onData(c: Conn, chunk: Buffer): void {
  c.buf = c.buf.length === 0 ? chunk : Buffer.concat([c.buf, chunk]);
  for (;;) {
    const headEnd = c.buf.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = c.buf.subarray(0, headEnd).toString('latin1');
    const m = /content-length:\s*(\d+)/i.exec(head);
    const len = m === null ? 0 : Number(m[1]);
    if (c.buf.length < headEnd + 4 + len) return;
    const status = Number(head.slice(9, 12));
    c.buf = c.buf.subarray(headEnd + 4 + len);
    const i = c.busy;
    latUs[i] = (performance.now() - (start + i * intervalMs)) * 1000;
    if (status !== 200) errors++;
    done++;
    if (done === total) {
      finish();
      return;
    }
    if (backlogHead < backlog.length) send(c, backlog[backlogHead++]!);
    else {
      c.busy = -1;
      idle.push(c);
    }
  }
}

function tick(): void {
  const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
  while (sent < due) {
    const c = idle.pop();
    if (c !== undefined) send(c, sent);
    else backlog.push(sent);
    sent++;
  }
  if (sent >= total) return;
  // Spin only when the next send is near; otherwise sleep (a spinning generator loses its core to others).
  const waitMs = start + sent * intervalMs - performance.now();
  if (waitMs > 2) setTimeout(tick, waitMs - 1);
  else setImmediate(tick);
}

let finished = false;
function finish(): void {
  if (finished) return;
  finished = true;
  const elapsedS = (performance.now() - start) / 1000;
  const ok = Array.from(latUs)
    .filter((v) => Number.isFinite(v))
    .sort((a, b) => a - b);
  const q = (p: number) => ok[Math.min(ok.length - 1, Math.floor(p * ok.length))] ?? Number.NaN;
  process.stdout.write(
    `${JSON.stringify({
      rate,
      seconds,
      sent: total,
      completed: ok.length,
      errors,
      dropped: total - ok.length,
      closedSockets,
      achievedPerS: ok.length / elapsedS,
      p50Us: q(0.5),
      p90Us: q(0.9),
      p99Us: q(0.99),
      p999Us: q(0.999),
      maxUs: ok[ok.length - 1] ?? Number.NaN,
    })}\n`,
  );
  process.exit(0);
}

let connected = 0;
let closedSockets = 0;
for (let k = 0; k < connections; k++) {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  const c: Conn = { socket, busy: -1, buf: Buffer.alloc(0) };
  socket.on('data', (chunk: Buffer) => onData(c, chunk));
  socket.on('error', () => {
    errors++;
  });
  socket.on('close', () => {
    closedSockets++;
  });
  socket.once('connect', () => {
    idle.push(c);
    if (++connected === connections) {
      start = performance.now();
      setTimeout(finish, seconds * 1000 + GRACE_MS).unref();
      tick();
    }
  });
}
