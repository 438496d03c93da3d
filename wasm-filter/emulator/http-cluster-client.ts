/**
 * Cluster targets for proxy_http_call. A cluster is either a handler (a test
 * double answering in-process) or a host:port reached with real HTTP/1.1 over
 * a keep-alive agent (as Envoy keeps connections to a cluster). The call's
 * timeout is enforced by the VM, not here; the VM aborts the signal on timeout.
 */
import { Agent, request as httpRequest } from 'node:http';
import type { HeaderPairs } from './header-pairs.js';

/** Returned by a handler to emulate a callback that never comes (failure injection). */
export const DROP_CALLBACK: unique symbol = Symbol('drop-callback');

export interface HttpCallRequest {
  cluster: string;
  token: number;
  /** All headers, pseudo-headers (:method, :path, :authority) included. */
  headers: HeaderPairs;
  body: Uint8Array;
  trailers: HeaderPairs;
  timeoutMs: number;
}

export interface HttpCallResponse {
  status: number;
  headers?: HeaderPairs | Record<string, string>;
  body?: Uint8Array | string;
  trailers?: HeaderPairs;
}

export type ClusterHandler = (
  request: HttpCallRequest,
  signal: AbortSignal,
) => Promise<HttpCallResponse | typeof DROP_CALLBACK> | HttpCallResponse | typeof DROP_CALLBACK;

export interface ClusterAddress {
  host: string;
  port: number;
}

export type ClusterTarget = ClusterHandler | ClusterAddress;

/** Hop-by-hop headers a proxy never forwards. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
]);

export interface HttpClusterClient {
  handler: ClusterHandler;
  close(): void;
}

/** A handler that sends the call to address over HTTP/1.1. */
export function createHttpClusterClient(address: ClusterAddress): HttpClusterClient {
  const agent = new Agent({ keepAlive: true });
  const handler: ClusterHandler = (call, signal) =>
    new Promise<HttpCallResponse>((resolve, reject) => {
      const pseudo = new Map(call.headers.filter(([k]) => k.startsWith(':')));
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of call.headers) {
        if (k.startsWith(':') || HOP_BY_HOP.has(k) || k === 'host') continue;
        const prev = headers[k];
        headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      headers.host = pseudo.get(':authority') ?? address.host;
      const req = httpRequest(
        {
          host: address.host,
          port: address.port,
          method: pseudo.get(':method') ?? 'GET',
          path: pseudo.get(':path') ?? '/',
          headers,
          agent,
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const pairs: HeaderPairs = [];
            for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
              const key = res.rawHeaders[i]?.toLowerCase() ?? '';
              if (!HOP_BY_HOP.has(key)) pairs.push([key, res.rawHeaders[i + 1] ?? '']);
            }
            resolve({ status: res.statusCode ?? 0, headers: pairs, body: Buffer.concat(chunks) });
          });
        },
      );
      req.on('error', reject);
      req.end(Buffer.from(call.body));
    });
  return { handler, close: () => agent.destroy() };
}

export function isClusterAddress(target: ClusterTarget): target is ClusterAddress {
  return typeof target === 'object' && target !== null && 'host' in target && 'port' in target;
}
