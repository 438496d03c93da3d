/** A checkout upstream for data-plane tests: answers 201 with the x-atp-* headers it received. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoUpstream {
  port: number;
  /** x-atp-* headers of every request received, in order. */
  seen: Array<Record<string, string>>;
  close(): Promise<void>;
}

export async function startEchoUpstream(): Promise<EchoUpstream> {
  const seen: Array<Record<string, string>> = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const atp: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-atp-')) atp[k] = String(v);
      seen.push(atp);
      const body = JSON.stringify({ order: `o-${seen.length}`, atp });
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** POSTs a checkout to the data plane; returns status, x-atp-* response headers and the JSON body. */
export async function postCheckout(
  port: number,
  items: Array<{ sku: string; qty: number }>,
  options: { zone?: string; requestId?: string; path?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers; elapsedMs: number }> {
  const started = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}${options.path ?? '/checkout'}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.requestId === undefined ? {} : { 'x-request-id': options.requestId }),
    },
    body: JSON.stringify({ items, buyer_zone: options.zone ?? 'Z1-1' }),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body, headers: res.headers, elapsedMs: performance.now() - started };
}
